"""MADE: masked autoencoder for distribution estimation (Germain et al., 2015).

An MLP whose weight matrices are multiplied by binary masks so that output d
only sees inputs that precede d in an ordering. Masks come from *degrees*
(Sec. 4 of the paper): input dim d gets its position in the ordering + 1,
hidden unit k gets m(k) in [1, D-1]; hidden connections need
m_out >= m_in, output connections m_out > m_in.

Order- and connectivity-agnostic training (Sec. 4.2): the model keeps a fixed
pool of `num_masks` degree assignments (orderings and/or hidden degrees); every
training step draws one from the pool (`train_log_prob`). The pool is stored as
small constant degree arrays and the masks are rebuilt inside the jitted
program with `ar_jax.masks` (cheap comparisons, fused by XLA), then passed to
`ar_jax.nn.MaskedDense` at call time, so even a 32-mask pool of a 784-8000-784
MADE adds no large constants. The pool is drawn by `masks.made_pool_v0` (one
seeded generator, read in entry order).

Exact ensemble evaluation: with M masks, `log_prob(x)` is
log (1/M) sum_m p_m(x) (a logsumexp over masks), never an average of logits.

Conditioning (`cond_classes` or `cond_size`): the cond features (a one-hot
label or a float vector) feed every hidden layer, and with `direct` every
output, through unmasked weights, as in conditional MADE (cond is seen by
every hidden unit, like an input of degree 0). Without `direct`, the first
dim of an ordering reaches no hidden unit (none has degree < 1), so its
conditional ignores cond: use `direct=True` (as the MNIST configs do) for a
fully conditional model. The cond weights live in their own submodules
(`cond_0`, ..., `cond_direct`), so the x-weights of a conditional MADE are
those of the unconditional one for the same init key.
"""

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax import nn as ar_nn
from ar_jax.models import base
from ar_jax.models import checks


class MADE(base.ARModel):
  """MADE for binary or K-class data, optionally class- or vector-conditional.

  Attributes:
    input_shape: shape of one example, e.g. (784,).
    num_classes: K values per dimension (2 = binary, Bernoulli outputs).
    hidden_sizes: widths of the hidden layers (ReLU, as in the paper).
    num_masks: size M of the mask pool (1 = a single fixed MADE).
    order_agnostic: each pool entry gets its own random ordering (else all
      use `ordering`).
    connectivity_agnostic: each pool entry draws its own hidden degrees
      (else entry 0's degrees are shared).
    hidden_degrees: "random" (the paper) or "even" (deterministic spread).
    direct: add masked direct input->output connections.
    ordering: ordering spec for non-order-agnostic masks: a registered name
      (`masks.ordering_names()`) or a permutation of range(D).
    ordering_shape: the shape `ordering` lays the D dims out on; () means
      input_shape. Image orderings on flat data need it, e.g. (28, 28).
    seed: seed of the mask pool (degrees and orderings).
    cond_classes: C > 0: `cond` is an int label [B] in [0, C), one-hot encoded.
    cond_size: F > 0: `cond` is a float vector [B, F]. At most one of the two
      is set; with both 0 the model is unconditional.
  """
  input_shape: tuple
  num_classes: int = 2
  hidden_sizes: tuple = (500,)
  num_masks: int = 1
  order_agnostic: bool = False
  connectivity_agnostic: bool = False
  hidden_degrees: str = "random"
  direct: bool = False
  ordering: Any = "natural"
  ordering_shape: tuple = ()
  seed: int = 0
  cond_classes: int = 0
  cond_size: int = 0


  def __post_init__(self):
    checks.check_input_shape(self, min_dims=2)
    checks.check_int(self, "num_classes", low=2)
    object.__setattr__(self, "hidden_sizes", checks.check_int_sequence(self, "hidden_sizes"))
    checks.check_int(self, "num_masks")
    checks.check_choice(self, "hidden_degrees", ("random", "even"))
    checks.normalize_ordering(self)
    checks.check_cond_counts(self, "cond_classes", "cond_size")
    checks.check_at_most_one(self, cond_classes="int labels", cond_size="float vectors")
    if self.is_conditional and not self.hidden_sizes and not self.direct:
      checks.fail(self, "direct", "True for a conditional MADE without hidden layers",
                  "a conditional MADE needs hidden layers or direct=True (cond feeds the "
                  "hidden layers and the direct connections)")
    super().__post_init__()

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  @property
  def is_conditional(self):
    return bool(self.cond_classes or self.cond_size)

  # ---- the mask pool, as degrees (static numpy, derived from hparams) ----
  def _pool_draws(self):
    """(orders [M, D], hidden degrees per layer [M, H_l]), cached and read-only."""
    return masks.made_pool_v0(
        self.ordering, checks.ordering_layout(self), self.hidden_sizes,
        self.num_masks, seed=self.seed, method=self.hidden_degrees,
        order_agnostic=self.order_agnostic, connectivity_agnostic=self.connectivity_agnostic)

  def _pool(self):
    """Degrees per layer, each [M, n]: [inputs (D), hidden_1, ..., hidden_L]."""
    orders, hidden = self._pool_draws()
    return [np.stack([masks.input_degrees(o) for o in orders])] + list(hidden)

  def orderings(self):
    return self._pool_draws()[0]

  # ---- network ----
  def _masks(self, degrees):
    """Dense masks for one pool entry from its degrees (works on traced arrays)."""
    k1, p = self.num_classes - 1, self.distribution.num_params
    deg_in = jnp.repeat(degrees[0], k1)      # each dim's K-1 input features
    deg_out = jnp.repeat(degrees[0], p)      # each dim's P output params
    chain = [deg_in] + list(degrees[1:])
    hidden = [masks.hidden_mask(a, b) for a, b in zip(chain[:-1], chain[1:])]
    out = masks.output_mask(chain[-1], deg_out)
    direct = masks.output_mask(deg_in, deg_out) if self.direct else None
    return hidden, out, direct

  def setup(self):
    d, p = self.num_dims, self.distribution.num_params
    he = nn.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")
    # The masked layers share MADE's own scope: the params are the flat
    # kernel_0, bias_0, ..., direct_kernel, drawn in that order from MADE's
    # rng stream. Masks are passed at call time (rebuilt from traced degrees).
    widths = list(self.hidden_sizes) + [d * p]
    self.layers = [ar_nn.MaskedDense(w, kernel_init=he, kernel_name=f"kernel_{i}",
                                     bias_name=f"bias_{i}") for i, w in enumerate(widths)]
    shared = list(self.layers)
    if self.direct:
      self.direct_layer = ar_nn.MaskedDense(
          d * p, use_bias=False, kernel_init=nn.initializers.zeros, kernel_name="direct_kernel")
      shared.append(self.direct_layer)
    for layer in shared:
      nn.share_scope(self, layer)
    if self.is_conditional:
      # Unmasked cond weights, in submodules of their own ("cond_0", ...): their
      # rngs do not shift the x-weights', which equal the unconditional model's.
      self.cond = [nn.Dense(w, use_bias=False, kernel_init=he) for w in self.hidden_sizes]
      if self.direct:
        self.cond_direct = nn.Dense(d * p, use_bias=False, kernel_init=nn.initializers.zeros)

  def _forward(self, feats_BxF, degrees, cond_BxC):
    hidden, out_mask, direct_mask = self._masks(degrees)
    h = feats_BxF
    for i, mask in enumerate(hidden):
      a = self.layers[i](h, mask=mask)
      h = jax.nn.relu(a if cond_BxC is None else a + self.cond[i](cond_BxC))
    out = self.layers[-1](h, mask=out_mask)
    if direct_mask is not None:
      out = out + self.direct_layer(feats_BxF, mask=direct_mask)
      if cond_BxC is not None:
        out = out + self.cond_direct(cond_BxC)
    return out

  def _features(self, x):
    return self.one_hot(x)[..., 1:].reshape(x.shape[0], -1)

  def _out_shape(self, b):
    return (b,) + tuple(self.input_shape) + (self.distribution.num_params,)

  # ---- conditioning input ----
  def check_cond(self, cond, batch_size):
    """Raises a ValueError naming the problem unless `cond` suits this model.

    Shapes and dtypes are checked always (inside `jit` too); label values only
    when `cond` is concrete. Inside `jit` a label outside [0, cond_classes)
    makes that example's outputs and log-prob NaN (see `_cond_features`).
    """
    base.check_array_cond(
        f"MADE(cond_classes={self.cond_classes}, cond_size={self.cond_size})", cond,
        batch_size, build_hint="cond_classes=C (int labels) or cond_size=F (float vectors)",
        cond_classes=self.cond_classes, cond_size=self.cond_size)

  def _cond_features(self, cond, batch_size):
    """Float [B, C or F] features of a checked `cond`, or None if unconditional."""
    self.check_cond(cond, batch_size)
    if not self.is_conditional:
      return None
    if self.cond_size:
      return jnp.asarray(cond, jnp.float32)
    return base.guarded_one_hot(jnp.asarray(cond), self.cond_classes)

  # ---- likelihood ----
  def __call__(self, x, cond=None, order_index=0):
    """Output params [B, *input_shape, P] under pool entry `order_index`."""
    cond_BxC = self._cond_features(cond, x.shape[0])
    degrees = [jnp.asarray(deg)[order_index] for deg in self._pool()]
    out = self._forward(self._features(x), degrees, cond_BxC)
    return out.reshape(self._out_shape(x.shape[0]))

  def log_prob(self, x, cond=None, order_index=None):
    """[B] nats. With M > 1 masks and order_index=None: the exact ensemble."""
    if order_index is not None or self.num_masks == 1:
      return self._log_prob_one(x, cond, 0 if order_index is None else order_index)
    self.check_input(x)
    cond_BxC = self._cond_features(cond, x.shape[0])
    pool = [jnp.asarray(deg) for deg in self._pool()]
    feats = self._features(x)
    shape = self._out_shape(x.shape[0])

    def one_mask(degs):
      out = self._forward(feats, degs, cond_BxC).reshape(shape)
      return self.sum_log_prob(out, x)

    if self.is_initializing():
      # The layers create their params on first call; inside lax.map they
      # would be tracers of the map. Create them here, in __call__'s order.
      one_mask([deg[0] for deg in pool])

    # lax.map, not vmap: one mask's [IN, OUT] masked kernels live at a time
    # (a vmap over 32 masks of a 2x8000 MADE would hold ~8 GB of them).
    lp_MxB = jax.lax.map(one_mask, pool)
    return jax.nn.logsumexp(lp_MxB, axis=0) - jnp.log(self.num_masks)

  def _log_prob_one(self, x, cond, order_index):
    self.check_input(x)
    return self.sum_log_prob(self(x, cond=cond, order_index=order_index), x)

  def train_log_prob(self, x, key, cond=None):
    """Order/connectivity-agnostic training: one pool entry drawn per step."""
    if self.num_masks == 1:
      return self._log_prob_one(x, cond, 0)
    return self._log_prob_one(x, cond, jax.random.randint(key, (), 0, self.num_masks))

  # ---- cache protocol: running pre-activations, every unit absorbed once ----
  supports_cache: ClassVar[bool] = True

  def init_cache(self, batch_size, cond=None, order_index=0):
    """Pre-activations of every hidden layer before any input is known.

    The cache holds `hidden`: per hidden layer, the running pre-activation
    [B, H_l] (bias and cond term included), and `io` [B, D*P] (only with
    `direct` or no hidden layers): the running sum of the input->output
    connections. Valid for every pool entry (`order_index` is read per step).
    """
    del order_index  # Every step reads its degrees from step.order_index.
    cond_BxC = self._cond_features(cond, batch_size)
    params = self.variables["params"]
    hidden = []
    for i, width in enumerate(self.hidden_sizes):
      a = jnp.broadcast_to(params[f"bias_{i}"][None], (batch_size, width))
      hidden.append(a if cond_BxC is None else a + self.cond[i](cond_BxC))
    cache = {"hidden": hidden}
    if self.direct or not self.hidden_sizes:
      io = jnp.zeros((batch_size, self.num_dims * self.distribution.num_params))
      if self.direct and cond_BxC is not None:
        io = io + self.cond_direct(cond_BxC)
      cache["io"] = io
    return cache

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of dim `step.dim` under pool entry `step.order_index`.

    A hidden unit of degree m sees inputs of degree <= m only, so its value is
    final once the dims at positions 0..m-1 are known, i.e. at step t = m.
    Step t adds the just-generated input (degree t) to the first layer's
    pre-activations, then the units of degree t of each layer, now final, to
    the next layer's, and reads dim `step.dim` (degree t + 1) from the units
    of degree <= t. Each connection is used once per sample, so generating
    all D dims costs about one forward pass instead of D. Equal to
    `__call__` up to float rounding (the sums run in another order); the
    conformance suite checks that the samples are the naive sampler's.
    """
    del cond  # Folded into the cache by init_cache.
    params = self.variables["params"]
    k1, p = self.num_classes - 1, self.distribution.num_params
    m, t, num_hidden = step.order_index, step.t, len(self.hidden_sizes)
    degrees = [jnp.asarray(deg)[m] for deg in self._pool()]  # [D], [H_1], ...
    deg_prev = degrees[0][step.prev_dim]  # == t for t > 0
    feats_BxK1 = nn.one_hot(step.x_prev, self.num_classes)[:, 1:] * (t > 0)

    def input_rows(name):  # The kernel rows of the features of prev_dim.
      return jax.lax.dynamic_slice_in_dim(params[name], step.prev_dim * k1, k1, axis=0)

    hidden = list(cache["hidden"])
    if num_hidden:
      w = input_rows("kernel_0") * (deg_prev <= degrees[1])[None].astype(jnp.float32)
      hidden[0] = hidden[0] + feats_BxK1 @ w
    new_cache = {"hidden": hidden}
    if "io" in cache:
      deg_out = jnp.repeat(degrees[0], p)
      row_mask = (deg_prev < deg_out)[None].astype(jnp.float32)
      io = cache["io"]
      for name in ([] if num_hidden else ["kernel_0"]) + (["direct_kernel"] if self.direct else []):
        io = io + feats_BxK1 @ (input_rows(name) * row_mask)
      new_cache["io"] = io
    for layer in range(1, num_hidden):
      groups = masks.degree_groups(self._pool()[layer], self.num_dims - 1)
      start, count = jnp.asarray(groups.start)[m, t], jnp.asarray(groups.count)[m, t]
      units = jax.lax.dynamic_slice_in_dim(jnp.asarray(groups.units)[m], start, groups.width)
      valid = jnp.arange(groups.width) < count
      h_BxW = jnp.where(valid[None], jax.nn.relu(hidden[layer - 1][:, units]), 0.0)
      mask_WxH = degrees[layer][units][:, None] <= degrees[layer + 1][None]
      hidden[layer] = hidden[layer] + h_BxW @ (
          params[f"kernel_{layer}"][units] * mask_WxH.astype(jnp.float32))

    d = step.dim
    out_kernel, out_bias = params[f"kernel_{num_hidden}"], params[f"bias_{num_hidden}"]
    out_BxP = jax.lax.dynamic_slice_in_dim(out_bias, d * p, p)[None]
    if num_hidden:
      col_mask = (degrees[-1] < degrees[0][d])[:, None].astype(jnp.float32)
      w = jax.lax.dynamic_slice_in_dim(out_kernel, d * p, p, axis=1) * col_mask
      out_BxP = jax.nn.relu(hidden[-1]) @ w + out_BxP
    if "io" in new_cache:
      out_BxP = out_BxP + jax.lax.dynamic_slice_in_dim(new_cache["io"], d * p, p, axis=1)
    return out_BxP, new_cache

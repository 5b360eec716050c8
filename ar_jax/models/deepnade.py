"""DeepNADE / order-agnostic NADE (Uria, Murray & Larochelle, ICML 2014).

One untied MLP computes p(x_j | x_S) for *any* observed subset S: its input
is the observed values and the observation mask,
  [features(x) * m, m] -> ReLU MLP -> params [D, P],
where m_j = 1 iff j is in S (each dim's K - 1 one-hot features are masked
together). The conditional of dim o_d under ordering o is the output at o_d
when exactly o_<d is observed, so every ordering defines a normalized model.

Training (`train_log_prob`) is the paper's order-agnostic objective: per
example, draw d uniform in {0..D-1} and a uniform subset S of d dims (the
prefix of a uniform ordering), run one forward pass and return
  D / (D - d) * sum_{j not in S} log p(x_j | x_S),
an unbiased estimate of the average over all D! orderings of log p_o(x). It
is *not* the likelihood of any one ordering.

Exact evaluation and sampling use a fixed pool of `num_orderings` orderings
(entry 0 is `ordering`, the others uniform permutations drawn from `seed`);
`log_prob` with M > 1 and no `order_index` is the exact ensemble
log (1/M) sum_m p_m(x). That costs D forward passes per ordering (the masks
differ per step), against one pass per training example. Two savings, exact
rearrangements of the same net: along an ordering the first layer's
pre-activation grows by one dim's kernel rows per step (NADE's running sum),
and each step evaluates only the P output units of the dim it predicts. A
step is then about H_1 H_2 + H_L P multiply-adds per example (0.25 M for
500-500 on MNIST, against 1.4 M for a full pass). The cached sampler runs the
same step once per dim.
"""

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ar_jax import distributions
from ar_jax import masks
from ar_jax.models import base
from ar_jax.models import checks


def sample_observed(key, batch_size, num_dims):
  """Training masks, bool [B, D]: per row d ~ U{0..D-1}, then a uniform d-subset.

  Returns `(observed_BxD, d_B)`. The subset is the first d dims of a uniform
  random ordering of the row.
  """
  key_d, key_perm = jax.random.split(key)
  d_B = jax.random.randint(key_d, (batch_size,), 0, num_dims)
  perms = jax.vmap(lambda k: jax.random.permutation(k, num_dims))(
      jax.random.split(key_perm, batch_size))
  pos_BxD = jnp.argsort(perms, axis=-1)  # position of each dim in its ordering
  return pos_BxD < d_B[:, None], d_B


def _advance(a_BxH, f_BxF, wx_FxH, wm_H):
  """First-layer pre-activation after one more dim becomes observed."""
  return a_BxH + (f_BxF @ wx_FxH + wm_H[None])


def _head(a_BxH, hidden, wo_HxP, bo_P):
  """Params [B, P] of one dim from the first-layer pre-activation."""
  h = jax.nn.relu(a_BxH)
  for kernel, bias in hidden:
    h = jax.nn.relu(h @ kernel + bias[None])
  return h @ wo_HxP + bo_P[None]


def _ordered_outputs(w, f_BxDxF, order_D):
  """Params [D, B, P] in generation order: one head evaluation per step."""
  b = f_BxDxF.shape[0]
  a0 = jnp.broadcast_to(w["b0"][None], (b, w["b0"].shape[0]))

  def step(a_BxH, inp):
    wx_FxH, wm_H, wo_HxP, bo_P, f_BxF = inp
    # Step t reads a_t (dims o_<t observed), then observes o_t.
    return _advance(a_BxH, f_BxF, wx_FxH, wm_H), _head(a_BxH, w["hidden"], wo_HxP, bo_P)

  xs = (jnp.take(w["wx"], order_D, axis=0), jnp.take(w["wm"], order_D, axis=0),
        jnp.take(w["wo"], order_D, axis=0), jnp.take(w["bo"], order_D, axis=0),
        jnp.take(f_BxDxF, order_D, axis=1).transpose(1, 0, 2))
  _, out_DxBxP = jax.lax.scan(step, a0, xs)
  return out_DxBxP


class DeepNADE(base.ARModel):
  """Order-agnostic deep NADE for binary or K-class data.

  Attributes:
    input_shape: data shape; flattened row-major to D dims.
    num_classes: K (2: Bernoulli outputs, else categorical).
    hidden_sizes: widths of the ReLU hidden layers (at least one).
    num_orderings: M, the pool of orderings for exact `log_prob` and sampling.
      Training is order-agnostic whatever M is; M only sets the evaluation
      cost (M * D forward passes per example).
    ordering: pool entry 0, a spec for `masks.get_ordering`.
    ordering_shape: the shape `ordering` lays the D dims out on; () means
      input_shape. Image orderings on flat data need it, e.g. (28, 28).
    seed: seed of a "random" `ordering` and of pool entries 1..M-1.
  """
  input_shape: tuple
  num_classes: int = 2
  hidden_sizes: tuple = (500, 500)
  # A field, so it overrides ARModel.num_orderings; equal to len(orderings()).
  num_orderings: int = 1
  ordering: Any = "natural"
  ordering_shape: tuple = ()
  seed: int = 0


  def __post_init__(self):
    checks.check_input_shape(self)
    checks.check_int(self, "num_classes", low=2)
    object.__setattr__(self, "hidden_sizes",
                       checks.check_int_sequence(self, "hidden_sizes", non_empty=True))
    checks.check_int(self, "num_orderings")
    checks.normalize_ordering(self)
    super().__post_init__()

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  def orderings(self):
    # The convention of ar_jax.masks.orderings: entry 0 from `ordering`, the
    # rest from their own stream of `seed` (cached, read-only).
    return masks.ordering_pool(self.ordering, checks.ordering_layout(self),
                               int(self.num_orderings), self.seed)

  # ---- parameters ----
  def setup(self):
    d, f, p = self.num_dims, self.num_classes - 1, self.distribution.num_params
    he = nn.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")
    first = self.hidden_sizes[0]
    # The first layer's kernel over concat(features * m, m), kept as two
    # blocks; each gets He variance 2 / (D F + D), the fan-in of the concat.
    self.input_kernel = self.param(
        "input_kernel", nn.initializers.variance_scaling(
            2.0 * d * f / (d * f + d), "fan_in", "truncated_normal"), (d * f, first))
    self.observed_kernel = self.param(
        "observed_kernel", nn.initializers.variance_scaling(
            2.0 * d / (d * f + d), "fan_in", "truncated_normal"), (d, first))
    self.bias_0 = self.param("bias_0", nn.initializers.zeros, (first,))
    sizes = self.hidden_sizes
    self.hidden = [
        (self.param(f"kernel_{i}", he, (a, b)),
         self.param(f"bias_{i}", nn.initializers.zeros, (b,)))
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1)]
    self.out_kernel = self.param(
        "out_kernel", nn.initializers.variance_scaling(1.0, "fan_in", "truncated_normal"),
        (sizes[-1], d * p))
    self.out_bias = self.param("out_bias", nn.initializers.zeros, (d * p,))

  def _weights(self):
    """Params as per-dim blocks in data order (read before any lax.map/scan)."""
    d, h_last = self.num_dims, self.hidden_sizes[-1]
    return {
        "wx": self.input_kernel.reshape(d, self.num_classes - 1, -1),  # [D, F, H1]
        "wm": self.observed_kernel,                                     # [D, H1]
        "b0": self.bias_0,
        "hidden": list(self.hidden),
        "wo": self.out_kernel.reshape(h_last, d, -1).transpose(1, 0, 2),  # [D, HL, P]
        "bo": self.out_bias.reshape(d, -1),                              # [D, P]
    }

  # ---- input handling ----
  def _features(self, x):
    """[B, D, K-1]: one-hot without the redundant class-0 column."""
    return self.one_hot(x)[..., 1:].reshape(x.shape[0], self.num_dims, -1)

  def _step_features(self, x_B):
    return nn.one_hot(x_B, self.num_classes, dtype=jnp.float32)[..., 1:]

  # ---- exact conditionals along an ordering ----
  def __call__(self, x, cond=None, order_index=0):
    """Params [B, *input_shape, P] under pool ordering `order_index`: D head passes."""
    self.check_unconditional(cond)
    return self._outputs(self._weights(), self._features(x), order_index)

  def _outputs(self, w, f_BxDxF, order_index):
    order = jnp.asarray(self.orderings(), jnp.int32)[order_index]
    out_DxBxP = _ordered_outputs(w, f_BxDxF, order)
    # Back from generation order to data order.
    out_BxDxP = jnp.take(out_DxBxP, jnp.argsort(order), axis=0).transpose(1, 0, 2)
    return out_BxDxP.reshape((f_BxDxF.shape[0],) + self.input_shape + (-1,))

  def log_prob(self, x, cond=None, order_index=None):
    """[B] nats, exact. With M > 1 and order_index=None: the ensemble over the pool."""
    self.check_unconditional(cond)
    self.check_input(x)
    if order_index is not None or self.num_orderings == 1:
      return self.sum_log_prob(self(x, order_index=0 if order_index is None else order_index), x)
    w, f = self._weights(), self._features(x)
    # lax.map, not vmap: one ordering's activations live at a time.
    lp_MxB = jax.lax.map(lambda m: self.sum_log_prob(self._outputs(w, f, m), x),
                         jnp.arange(self.num_orderings))
    return jax.nn.logsumexp(lp_MxB, axis=0) - jnp.log(self.num_orderings)

  # ---- any observed subset: one forward pass ----
  def conditional_log_probs(self, x, observed):
    """log p(x_j | x_S) for every dim j, [B, *input_shape], in one forward pass.

    `observed` (bool [B, *input_shape]) marks S. Entries of observed dims are
    computed too, but are not conditionals of any ordering.
    """
    self.check_input(x)
    b, d = x.shape[0], self.num_dims
    if tuple(observed.shape) != (b,) + self.input_shape:
      raise ValueError(f"{type(self).__name__}: observed must have shape "
                       f"{(b,) + self.input_shape}, got {tuple(observed.shape)}")
    m_BxD = observed.reshape(b, d).astype(jnp.float32)
    f_BxDxF = self._features(x)
    a = ((f_BxDxF * m_BxD[..., None]).reshape(b, -1) @ self.input_kernel
         + m_BxD @ self.observed_kernel + self.bias_0[None])
    out = _head(a, self.hidden, self.out_kernel, self.out_bias)
    params = out.reshape((b,) + self.input_shape + (-1,))
    return self.distribution.log_prob(params, x)

  def train_log_prob(self, x, key, cond=None):
    """Order-agnostic objective [B]: unbiased for the mean over orderings of log p_o(x).

    One forward pass per example with a random (d, S) from `sample_observed`:
    D / (D - d) * sum over the D - d unobserved dims of log p(x_j | x_S).
    """
    self.check_unconditional(cond)
    self.check_input(x)
    b, d = x.shape[0], self.num_dims
    observed_BxD, d_B = sample_observed(key, b, d)
    lp_BxD = self.conditional_log_probs(
        x, observed_BxD.reshape((b,) + self.input_shape)).reshape(b, d)
    total = jnp.sum(jnp.where(observed_BxD, 0.0, lp_BxD), axis=-1)
    return total * (d / (d - d_B).astype(jnp.float32))

  # ---- cache protocol: the first-layer pre-activation [B, H1] is the state ----
  # Every pool ordering is supported: the ensemble sampler runs each cached.
  supports_cache: ClassVar[bool] = True

  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # the state starts at bias_0 under every ordering
    self.check_unconditional(cond)
    return {"a": jnp.broadcast_to(self.bias_0[None], (batch_size, self.hidden_sizes[0]))}

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of dim `step.dim`, after observing `step.x_prev`.

    One head pass per step (D per sample, not the naive sampler's D^2); the
    same ops as the scan in `__call__`, so it matches it bit for bit.
    """
    self.check_unconditional(cond)
    w = self._weights()
    prev, d = step.prev_dim, step.dim
    a = jnp.where(step.t > 0, _advance(cache["a"], self._step_features(step.x_prev),
                                       w["wx"][prev], w["wm"][prev]), cache["a"])
    return _head(a, w["hidden"], w["wo"][d], w["bo"][d]), {"a": a}

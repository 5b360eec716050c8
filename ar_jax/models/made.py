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
program with `ar_jax.masks` (cheap comparisons, fused by XLA), so even a
32-mask pool of a 784-8000-784 MADE adds no large constants.

Exact ensemble evaluation: with M masks, `log_prob(x)` is
log (1/M) sum_m p_m(x) (a logsumexp over masks), never an average of logits.
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax.models import base


class MADE(base.ARModel):
  """MADE for binary or K-class data.

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
    ordering: ordering spec for non-order-agnostic masks (see masks.get_ordering).
    seed: seed of the mask pool (degrees and orderings).
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
  seed: int = 0

  conformance_variants = (
      {"hidden_sizes": (24, 24), "direct": True},
      {"hidden_sizes": (24,), "num_masks": 3, "order_agnostic": True,
       "connectivity_agnostic": True},
  )

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  # ---- the mask pool, as degrees (static numpy, derived from hparams) ----
  def _pool(self):
    """Degrees per layer, each [M, n]: [inputs (D), hidden_1, ..., hidden_L]."""
    if self.num_masks < 1:
      raise ValueError(f"MADE: num_masks must be >= 1, got {self.num_masks}")
    d, m = self.num_dims, self.num_masks
    if d < 2:
      raise ValueError(f"MADE needs at least 2 dimensions, got input_shape {self.input_shape}")
    rng = np.random.default_rng(self.seed)
    orders, hidden = [], []
    for i in range(m):
      # Entry 0 always uses `ordering`, so a 1-mask MADE is the classic model.
      orders.append(rng.permutation(d) if (self.order_agnostic and i > 0)
                    else masks.get_ordering(self.ordering, d, seed=self.seed))
      if i == 0 or self.connectivity_agnostic:
        degs, low = [], 1
        for h in self.hidden_sizes:
          degs.append(masks.hidden_degrees(
              h, d, method=self.hidden_degrees, seed=int(rng.integers(2**31)),
              min_degree=low))
          low = int(degs[-1].min())
      hidden.append(degs)
    inputs = np.stack([masks.input_degrees(o) for o in orders])
    return [inputs] + [np.stack([hd[l] for hd in hidden]) for l in range(len(self.hidden_sizes))]

  def orderings(self):
    deg_MxD = self._pool()[0]
    return np.argsort(deg_MxD, axis=1)  # degree = position + 1

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

  def _forward(self, feats_BxF, layer_params, degrees):
    hidden, out_mask, direct_mask = self._masks(degrees)
    h = feats_BxF
    for (kernel, bias), mask in zip(layer_params[:-1], hidden):
      h = jax.nn.relu(h @ (kernel * mask) + bias[None])
    kernel, bias = layer_params[-1]
    out = h @ (kernel * out_mask) + bias[None]
    if direct_mask is not None:
      out = out + feats_BxF @ (self.direct_kernel * direct_mask)
    return out

  def setup(self):
    d, k1, p = self.num_dims, self.num_classes - 1, self.distribution.num_params
    sizes = [d * k1] + list(self.hidden_sizes) + [d * p]
    init = nn.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")
    self.layer_params = [
        (self.param(f"kernel_{i}", init, (a, b)), self.param(f"bias_{i}", nn.initializers.zeros, (b,)))
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
    if self.direct:
      self.direct_kernel = self.param("direct_kernel", nn.initializers.zeros, (d * k1, d * p))

  def _features(self, x):
    return self.one_hot(x)[..., 1:].reshape(x.shape[0], -1)

  def _out_shape(self, b):
    return (b,) + tuple(self.input_shape) + (self.distribution.num_params,)

  def __call__(self, x, cond=None, order_index=0):
    """Output params [B, *input_shape, P] under pool entry `order_index`."""
    self.check_unconditional(cond)
    degrees = [jnp.asarray(deg)[order_index] for deg in self._pool()]
    out = self._forward(self._features(x), self.layer_params, degrees)
    return out.reshape(self._out_shape(x.shape[0]))

  def log_prob(self, x, cond=None, order_index=None):
    """[B] nats. With M > 1 masks and order_index=None: the exact ensemble."""
    self.check_unconditional(cond)
    if order_index is not None or self.num_masks == 1:
      return self._log_prob_one(x, 0 if order_index is None else order_index)
    self.check_input(x)
    pool = [jnp.asarray(deg) for deg in self._pool()]
    feats = self._features(x)
    shape = self._out_shape(x.shape[0])

    def one_mask(degs):
      out = self._forward(feats, self.layer_params, degs).reshape(shape)
      return self.sum_log_prob(out, x)

    # lax.map, not vmap: one mask's [IN, OUT] masked kernels live at a time
    # (a vmap over 32 masks of a 2x8000 MADE would hold ~8 GB of them).
    lp_MxB = jax.lax.map(one_mask, pool)
    return jax.nn.logsumexp(lp_MxB, axis=0) - jnp.log(self.num_masks)

  def _log_prob_one(self, x, order_index):
    self.check_input(x)
    return self.sum_log_prob(self(x, order_index=order_index), x)

  def train_log_prob(self, x, key, cond=None):
    """Order/connectivity-agnostic training: one pool entry drawn per step."""
    self.check_unconditional(cond)
    if self.num_masks == 1:
      return self._log_prob_one(x, 0)
    return self._log_prob_one(x, jax.random.randint(key, (), 0, self.num_masks))

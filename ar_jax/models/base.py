"""The model contract every ar_jax model follows.

A model is a Flax linen module, subclass of `ARModel`, with dataclass fields
`input_shape` (no default) and, for discrete data, `num_classes` (default 2).
It defines:

- `distribution` (property): an object from `ar_jax.distributions` giving the
  per-dimension conditional family (`num_params` = P parameters per dimension).
- `__call__(x, cond=None[, order_index])` -> params `[B, *input_shape, P]`:
  the parameters of p(x_d | x_<d) for every dimension d at once. Discrete `x` is
  either an integer array `[B, *input_shape]` or a float relaxed one-hot
  `[B, *input_shape, K]` (the causality tests differentiate through the latter);
  use `self.one_hot(x)` to accept both. Real-valued `x` is float `[B, *input_shape]`.
- `orderings()` -> int array `[M, D]`: the generation order(s), as flat indices
  into the row-major flattened `input_shape`. Default: one natural order.
  Models with M > 1 orderings (MADE mask ensembles) also take a keyword
  `order_index` in `__call__` selecting one of them (may be a traced int).

Optional, for fast generation (`ar_jax.sample` uses it when present):
- `init_cache(batch_size, cond=None)` -> cache pytree, and
- `cached_step(cache, t, x_prev)` -> `(params_BxP, cache)`: the parameters of
  the dimension `orderings()[0, t]` given the cache and `x_prev`, the value
  just generated for dimension `orderings()[0, t-1]` (ignored when t == 0).
  It must reproduce `__call__` exactly; the conformance suite checks that the
  cached sampler equals the naive one for the same key.

`log_prob(x, cond=None)` -> `[B]` log-likelihood in nats, summed over dimensions,
is provided here and may be overridden (e.g. MADE's exact mask ensemble, where
`log_prob(x, order_index=None)` is the ensemble and an int selects one mask).

`train_log_prob(x, key, cond=None)` -> `[B]` is what the trainer maximizes; the
default is `log_prob`. Models with stochastic training (a random mask per step
in order-agnostic MADE, dropout) override it and draw from `key`.
"""

import math
from typing import ClassVar

import flax.linen as nn
import jax.numpy as jnp
import numpy as np


class ARModel(nn.Module):
  """Base class with the shared, model-independent parts of the contract."""

  # "vector" [B, D], "image" [B, H, W, C] or "sequence" [B, T]: tells the
  # conformance suite which tiny input shape to test with.
  input_kind: ClassVar[str] = "vector"
  # Hyperparameter variants the conformance suite tests (each a dict merged
  # over the defaults; keep them tiny: the suite enumerates every input). The
  # suite also runs the first variant with num_classes=3 for discrete models.
  conformance_variants: ClassVar[tuple] = ({},)

  # ---- static helpers (usable on an unbound module) ----
  @property
  def num_dims(self) -> int:
    return int(math.prod(self.input_shape))

  @property
  def is_discrete(self) -> bool:
    return self.distribution.is_discrete

  def orderings(self) -> np.ndarray:
    """Generation order(s) as flat indices, shape [M, D]. Default: natural."""
    return np.arange(self.num_dims)[None]

  @property
  def num_orderings(self) -> int:
    return int(self.orderings().shape[0])

  # ---- input handling ----
  def check_input(self, x, name="x"):
    """Raises a readable error unless x is [B, *input_shape] (or one-hot [..., K])."""
    shape = tuple(self.input_shape)
    ok = x.ndim >= 1 and tuple(x.shape[1:]) == shape
    if self.is_discrete and not ok and jnp.issubdtype(x.dtype, jnp.floating):
      ok = tuple(x.shape[1:]) == shape + (self.num_classes,)
    if not ok:
      extra = f" or [B, *{shape}, {self.num_classes}] one-hot" if self.is_discrete else ""
      raise ValueError(
          f"{type(self).__name__}: {name} must have shape [B, *input_shape] = "
          f"[B, *{shape}]{extra}, got {tuple(x.shape)}")

  def check_unconditional(self, cond):
    """Raises for a `cond` given to a model without conditioning inputs."""
    if cond is not None:
      raise ValueError(f"{type(self).__name__} is unconditional; got a `cond` input")

  def one_hot(self, x):
    """int [B, *S] -> float one-hot [B, *S, K]; float [B, *S, K] passes through."""
    self.check_input(x)
    if jnp.issubdtype(x.dtype, jnp.integer):
      return nn.one_hot(x, self.num_classes, dtype=jnp.float32)
    return x.astype(jnp.float32)

  # ---- likelihood ----
  def log_prob(self, x, cond=None):
    """Log-likelihood in nats of each example, shape [B]."""
    self.check_input(x)
    kwargs = {} if cond is None else {"cond": cond}
    return self.sum_log_prob(self(x, **kwargs), x)

  def sum_log_prob(self, params, x):
    """Per-example log-likelihood [B] from per-dimension params [B, *S, P]."""
    return self.distribution.log_prob(params, x).reshape(x.shape[0], -1).sum(-1)

  def train_log_prob(self, x, key, cond=None):
    """Training objective per example, [B]; `key` is fresh every step."""
    del key
    return self.log_prob(x, cond=cond)


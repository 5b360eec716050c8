"""Dropout with an explicit key: stochastic only where a key is passed.

Models pass a key only from `train_log_prob` (fresh every step), so the
likelihood, `__call__` and the samplers are deterministic.
"""

import jax
import jax.numpy as jnp


def dropout(x, rate, key):
  """Zeroes each entry of `x` with probability `rate`, scaling the rest by 1/(1-rate).

  Identity when `key` is None or `rate` is 0.
  """
  if not 0.0 <= rate < 1.0:
    raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
  if key is None or rate == 0.0:
    return x
  keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
  return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))

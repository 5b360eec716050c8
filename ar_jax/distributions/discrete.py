"""Categorical output distributions: `Bernoulli`, `Categorical`, `for_classes`."""

import dataclasses

import jax
import jax.numpy as jnp

from ar_jax.distributions.checks import (as_int, check_params, check_shapes, nan_unless,
                                          temper)


@dataclasses.dataclass(frozen=True)
class Bernoulli:
  """Binary variable in {0, 1}, parameterized by one logit (P = 1)."""
  num_classes: int = dataclasses.field(default=2, init=False)
  is_discrete: bool = dataclasses.field(default=True, init=False)
  num_params: int = dataclasses.field(default=1, init=False)

  def log_prob(self, params, x):
    """Log-probability [N] of x_N in {0, 1} (int, bool or float) under logits params [N, 1]."""
    x = jnp.asarray(x)
    check_shapes(params, x, 1, "Bernoulli")
    logit = params[..., 0]
    x = x.astype(logit.dtype)
    # log sigmoid(l) if x == 1, log sigmoid(-l) if x == 0; stable for large |l|.
    logp = jax.nn.log_sigmoid((2.0 * x - 1.0) * logit)
    return nan_unless((x == 0) | (x == 1), logp)

  def sample(self, key, params, temperature=1.0):
    """int32 samples [N] from params [N, 1]; the logit is divided by temperature."""
    check_params(params, 1, "Bernoulli")
    logit = temper(params[..., 0], temperature)
    return jax.random.bernoulli(key, jax.nn.sigmoid(logit)).astype(jnp.int32)

  def mean(self, params):
    check_params(params, 1, "Bernoulli")
    return jax.nn.sigmoid(params[..., 0])


@dataclasses.dataclass(frozen=True)
class Categorical:
  """K-way categorical variable in {0, ..., K-1}, parameterized by K logits."""
  num_classes: int
  is_discrete: bool = dataclasses.field(default=True, init=False)

  def __post_init__(self):
    object.__setattr__(self, "num_classes",
                       as_int(self.num_classes, "num_classes", "Categorical", 2))

  @property
  def num_params(self):
    return self.num_classes

  def log_prob(self, params, x):
    """Log-probability [N] of integer-valued x_N under logits params [N, K]."""
    x = jnp.asarray(x)
    check_shapes(params, x, self.num_classes, "Categorical")
    logp = jax.nn.log_softmax(params, axis=-1)
    # Clip so that e.g. x = -1 cannot wrap around to the last class; the
    # invalid entries are turned into NaN below.
    idx = jnp.clip(x.astype(jnp.int32), 0, self.num_classes - 1)
    logp = jnp.take_along_axis(logp, idx[..., None], axis=-1)[..., 0]
    return nan_unless((x >= 0) & (x < self.num_classes) & (idx == x), logp)

  def sample(self, key, params, temperature=1.0):
    """int32 samples [N] from softmax(params / temperature), params [N, K]."""
    check_params(params, self.num_classes, "Categorical")
    return jax.random.categorical(key, temper(params, temperature), axis=-1).astype(jnp.int32)

  def mean(self, params):
    check_params(params, self.num_classes, "Categorical")
    probs = jax.nn.softmax(params, axis=-1)
    return probs @ jnp.arange(self.num_classes, dtype=probs.dtype)


def for_classes(num_classes):
  """The default discrete output distribution for `num_classes` values.

  Binary data (K = 2) get a `Bernoulli` with a single logit, as in FVSBN, NADE and
  MADE; K > 2 gets a `Categorical`.
  """
  num_classes = as_int(num_classes, "num_classes", "for_classes", 2)
  if num_classes == 2:
    return Bernoulli()
  return Categorical(num_classes)

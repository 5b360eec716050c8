"""Per-dimension output distributions of autoregressive models.

Every distribution is a small frozen dataclass (hashable, so it can be a static
attribute of a Flax module or a `jax.jit` static argument) with:

- `num_params`: P, the size of the trailing parameter axis a model must output
  for each data dimension;
- `log_prob(params_NxP, x_N) -> [N]`: log-density (nats) of each element;
- `sample(key, params_NxP, temperature) -> x_N`;
- `is_discrete` and, for discrete ones, `num_classes`.

The leading axes `N` are arbitrary (`[B, D]`, `[B, H, W, C]`, ...): `params`
always has exactly one extra trailing axis of size `num_params`. Shapes are
checked; nothing is silently broadcast.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp


def _check(params, x, num_params, name):
  if params.shape[-1] != num_params or params.shape[:-1] != x.shape:
    raise ValueError(
        f"{name}: expected params of shape x.shape + ({num_params},) = "
        f"{tuple(x.shape) + (num_params,)}, got params {tuple(params.shape)} "
        f"for x {tuple(x.shape)}")


def _temper(logits, temperature):
  if isinstance(temperature, (int, float)) and temperature <= 0:
    raise ValueError(f"temperature must be > 0, got {temperature}")
  return logits / temperature


@dataclasses.dataclass(frozen=True)
class Bernoulli:
  """Binary variable in {0, 1}, parameterized by one logit (P = 1)."""
  num_classes: int = dataclasses.field(default=2, init=False)
  is_discrete: bool = dataclasses.field(default=True, init=False)
  num_params: int = dataclasses.field(default=1, init=False)

  def log_prob(self, params, x):
    _check(params, x, 1, "Bernoulli")
    logit = params[..., 0]
    # log sigmoid(l) if x == 1, log sigmoid(-l) if x == 0; stable for large |l|.
    sign = 2.0 * x.astype(logit.dtype) - 1.0
    return jax.nn.log_sigmoid(sign * logit)

  def sample(self, key, params, temperature=1.0):
    logit = _temper(params[..., 0], temperature)
    return jax.random.bernoulli(key, jax.nn.sigmoid(logit)).astype(jnp.int32)

  def mean(self, params):
    return jax.nn.sigmoid(params[..., 0])


@dataclasses.dataclass(frozen=True)
class Categorical:
  """K-way categorical variable in {0, ..., K-1}, parameterized by K logits."""
  num_classes: int
  is_discrete: bool = dataclasses.field(default=True, init=False)

  def __post_init__(self):
    if not isinstance(self.num_classes, int) or self.num_classes < 2:
      raise ValueError(
          f"Categorical: num_classes must be an int >= 2, got {self.num_classes!r}")

  @property
  def num_params(self):
    return self.num_classes

  def log_prob(self, params, x):
    _check(params, x, self.num_classes, "Categorical")
    logp = jax.nn.log_softmax(params, axis=-1)
    return jnp.take_along_axis(logp, x[..., None].astype(jnp.int32), axis=-1)[..., 0]

  def sample(self, key, params, temperature=1.0):
    return jax.random.categorical(key, _temper(params, temperature), axis=-1).astype(jnp.int32)

  def mean(self, params):
    probs = jax.nn.softmax(params, axis=-1)
    return jnp.sum(probs * jnp.arange(self.num_classes, dtype=probs.dtype), axis=-1)


def for_classes(num_classes):
  """The default discrete output distribution for `num_classes` values.

  Binary data (K = 2) get a `Bernoulli` with a single logit, as in FVSBN, NADE and
  MADE; K > 2 gets a `Categorical`.
  """
  if num_classes == 2:
    return Bernoulli()
  return Categorical(num_classes)


def bits_per_dim(nll_nats, num_dims):
  """Converts a per-example NLL in nats to bits per dimension."""
  return nll_nats / (num_dims * math.log(2.0))

"""Per-dimension output distributions of autoregressive models.

Every distribution is a small frozen dataclass (hashable, so it can be a static
attribute of a Flax module or a `jax.jit` static argument) with:

- `num_params`: P, the size of the trailing parameter axis a model must output
  for each data dimension;
- `log_prob(params_NxP, x_N) -> [N]`: log-density (nats) of each element;
- `sample(key, params_NxP, temperature) -> x_N`;
- `is_discrete` and `num_classes` (None for real-valued distributions).

The leading axes `N` are arbitrary (`[B, D]`, `[B, H, W, C]`, ...): `params`
always has exactly one extra trailing axis of size `num_params`. Shapes are
checked; nothing is silently broadcast. Values cannot be checked under `jit`,
so a discrete `x` outside {0, ..., num_classes - 1} gets a NaN log-prob (loud,
rather than silently wrapping around).

`temperature` must be a scalar > 0 (checked unless it is traced).
"""

import dataclasses
import functools
import math
import numbers

import jax
import jax.numpy as jnp


def _check(params, x, num_params, name):
  p_shape, x_shape = tuple(jnp.shape(params)), tuple(jnp.shape(x))
  if p_shape[-1:] != (num_params,) or p_shape[:-1] != x_shape:
    raise ValueError(
        f"{name}: expected params of shape x.shape + ({num_params},) = "
        f"{x_shape + (num_params,)}, got params {p_shape} for x {x_shape}")


def _check_params(params, num_params, name):
  shape = tuple(jnp.shape(params))
  if shape[-1:] != (num_params,):
    raise ValueError(
        f"{name}: expected params of shape [..., num_params] = [..., {num_params}], "
        f"got params {shape}")


def _check_temperature(temperature):
  if jnp.ndim(temperature) != 0:
    raise ValueError(
        f"temperature must be a scalar > 0, got shape {tuple(jnp.shape(temperature))}")
  if isinstance(temperature, jax.core.Tracer):
    return  # Traced inside jit: its value is unknown here.
  if not float(temperature) > 0:  # `not >` also rejects NaN.
    raise ValueError(f"temperature must be > 0, got {temperature}")


def _temper(logits, temperature):
  _check_temperature(temperature)
  return logits / temperature


def _as_int(value, name, owner, minimum):
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
    raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
  return int(value)


def _nan_unless(valid, logp):
  return jnp.where(valid, logp, jnp.nan)


def _split3(params, k):
  """[..., 3K] -> logit_weights, means, log_scales, each [..., K]."""
  return params[..., :k], params[..., k:2 * k], params[..., 2 * k:]


def _log1mexp(d, log_d):
  """log(1 - exp(-d)) for d > 0, given also log(d) computed in log space.

  For d < 1e-6 it returns log(d) (off by < d / 2 nats), which also covers d
  underflowing to 0 for huge scales. The inner `where`s keep every branch
  finite so gradients do not pick up NaNs from the unselected one.
  """
  small = d < 1e-6
  d_safe = jnp.where(small, 1.0, d)
  # Two forms, each accurate on its side of log 2 (Maechler 2012).
  value = jnp.where(d_safe < math.log(2.0), jnp.log(-jnp.expm1(-d_safe)),
                    jnp.log1p(-jnp.exp(-d_safe)))
  return jnp.where(small, log_d, value)


@dataclasses.dataclass(frozen=True)
class Bernoulli:
  """Binary variable in {0, 1}, parameterized by one logit (P = 1)."""
  num_classes: int = dataclasses.field(default=2, init=False)
  is_discrete: bool = dataclasses.field(default=True, init=False)
  num_params: int = dataclasses.field(default=1, init=False)

  def log_prob(self, params, x):
    """Log-probability [N] of x_N in {0, 1} (int, bool or float) under logits params [N, 1]."""
    x = jnp.asarray(x)
    _check(params, x, 1, "Bernoulli")
    logit = params[..., 0]
    x = x.astype(logit.dtype)
    # log sigmoid(l) if x == 1, log sigmoid(-l) if x == 0; stable for large |l|.
    logp = jax.nn.log_sigmoid((2.0 * x - 1.0) * logit)
    return _nan_unless((x == 0) | (x == 1), logp)

  def sample(self, key, params, temperature=1.0):
    """int32 samples [N] from params [N, 1]; the logit is divided by temperature."""
    _check_params(params, 1, "Bernoulli")
    logit = _temper(params[..., 0], temperature)
    return jax.random.bernoulli(key, jax.nn.sigmoid(logit)).astype(jnp.int32)

  def mean(self, params):
    _check_params(params, 1, "Bernoulli")
    return jax.nn.sigmoid(params[..., 0])


@dataclasses.dataclass(frozen=True)
class Categorical:
  """K-way categorical variable in {0, ..., K-1}, parameterized by K logits."""
  num_classes: int
  is_discrete: bool = dataclasses.field(default=True, init=False)

  def __post_init__(self):
    object.__setattr__(self, "num_classes",
                       _as_int(self.num_classes, "num_classes", "Categorical", 2))

  @property
  def num_params(self):
    return self.num_classes

  def log_prob(self, params, x):
    """Log-probability [N] of integer-valued x_N under logits params [N, K]."""
    x = jnp.asarray(x)
    _check(params, x, self.num_classes, "Categorical")
    logp = jax.nn.log_softmax(params, axis=-1)
    # Clip so that e.g. x = -1 cannot wrap around to the last class; the
    # invalid entries are turned into NaN below.
    idx = jnp.clip(x.astype(jnp.int32), 0, self.num_classes - 1)
    logp = jnp.take_along_axis(logp, idx[..., None], axis=-1)[..., 0]
    return _nan_unless((x >= 0) & (x < self.num_classes) & (idx == x), logp)

  def sample(self, key, params, temperature=1.0):
    """int32 samples [N] from softmax(params / temperature), params [N, K]."""
    _check_params(params, self.num_classes, "Categorical")
    return jax.random.categorical(key, _temper(params, temperature), axis=-1).astype(jnp.int32)

  def mean(self, params):
    _check_params(params, self.num_classes, "Categorical")
    probs = jax.nn.softmax(params, axis=-1)
    return probs @ jnp.arange(self.num_classes, dtype=probs.dtype)


@dataclasses.dataclass(frozen=True)
class DiscretizedLogisticMixture:
  """Mixture of K discretized logistics over {0, ..., C-1} (PixelCNN++), one scalar per element.

  Class c is rescaled to y_c = 2c / (C-1) - 1 in [-1, 1] and gets the mixture
  mass of the bin [y_c - h, y_c + h], h = 1 / (C-1); the edge classes 0 and C-1
  also take the tails (-inf, y_0 + h] and [y_{C-1} - h, inf), so the C masses
  sum to 1 exactly. No RGB coupling between channels.

  Params [..., 3K] = [logit_weights (K), means (K), log_scales (K)]; means and
  scales are in the rescaled [-1, 1] units. log_scales are clamped from below
  at `min_log_scale` (default -7, as in PixelCNN++): a narrower logistic puts
  all its mass in one bin anyway, and the clamp bounds 1/scale so the loss and
  its gradients stay bounded. The clamp applies in `sample` too.

  Attributes:
    num_mixtures: K, the number of logistic components.
    num_classes: C, the number of integer values (256 for 8-bit data).
    min_log_scale: lower clamp for log_scales.
  """
  num_mixtures: int
  num_classes: int = 256
  min_log_scale: float = -7.0
  is_discrete: bool = dataclasses.field(default=True, init=False)

  def __post_init__(self):
    name = "DiscretizedLogisticMixture"
    object.__setattr__(self, "num_mixtures", _as_int(self.num_mixtures, "num_mixtures", name, 1))
    object.__setattr__(self, "num_classes", _as_int(self.num_classes, "num_classes", name, 2))
    if not isinstance(self.min_log_scale, numbers.Real) or not math.isfinite(self.min_log_scale):
      raise ValueError(f"{name}: min_log_scale must be a finite float, got {self.min_log_scale!r}")

  @property
  def num_params(self):
    return 3 * self.num_mixtures

  def _split(self, params):
    logit_w, means, log_s = _split3(params, self.num_mixtures)
    return logit_w, means, jnp.maximum(log_s, self.min_log_scale)

  def log_prob(self, params, x):
    """Log-probability [N] of integer x_N in [0, C) under params [N, 3K].

    Raises:
      ValueError: on a shape mismatch or a non-integer dtype of x.
    """
    x = jnp.asarray(x)
    _check(params, x, self.num_params, "DiscretizedLogisticMixture")
    if not jnp.issubdtype(x.dtype, jnp.integer):
      raise ValueError(
          f"DiscretizedLogisticMixture: x must have an integer dtype (class indices in "
          f"[0, {self.num_classes})), got {x.dtype}")
    return self._log_prob(params, x)

  # jit so that eager callers pay one compilation, not one per primitive.
  @functools.partial(jax.jit, static_argnums=0)
  def _log_prob(self, params, x):
    logit_w, means, log_s = self._split(params)
    c = self.num_classes
    half = 1.0 / (c - 1)
    # Bin edges y_x +- h = (2x + 1 - (C-1) +- 1) / (C-1): integer numerators, so
    # each edge is rounded once and is the same float for the two bins it
    # separates (the masses telescope); with a tiny scale an edge error of one
    # ulp already moves the CDF by ~1e-5.
    two_x = 2.0 * x[..., None].astype(means.dtype)
    inv_s = jnp.exp(-log_s)
    upper = inv_s * ((two_x + (2.0 - c)) / (c - 1) - means)  # [N, K]
    lower = inv_s * ((two_x - c) / (c - 1) - means)
    log_cdf_upper = jax.nn.log_sigmoid(upper)  # log F(upper): mass of class 0.
    log_sf_lower = jax.nn.log_sigmoid(-lower)  # log(1 - F(lower)): mass of class C-1.
    # Interior bins: F(u) - F(l) = F(u) (1 - F(l)) (1 - exp(l - u)) exactly, for
    # the logistic F = sigmoid. Unlike the direct difference it never cancels or
    # underflows in float32, in either tail, so PixelCNN++'s fallback (pdf at the
    # bin centre times its width, wrong by large factors when the density
    # changes across a bin, i.e. small scales) is not needed. The bin width
    # u - l = 2h / s is formed directly, not by subtracting u and l.
    log_mass = log_cdf_upper + log_sf_lower + _log1mexp(
        (2.0 * half) * inv_s, math.log(2.0 * half) - log_s)
    xk = x[..., None]
    log_comp = jnp.where(xk == 0, log_cdf_upper, jnp.where(xk == c - 1, log_sf_lower, log_mass))
    logp = jax.nn.logsumexp(jax.nn.log_softmax(logit_w, axis=-1) + log_comp, axis=-1)
    return _nan_unless((x >= 0) & (x < c), logp)

  def class_log_probs(self, params):
    """Log-probabilities [N, C] of every class under params [N, 3K]."""
    _check_params(params, self.num_params, "DiscretizedLogisticMixture")
    batch_shape = jnp.shape(params)[:-1]
    per_class = jax.vmap(lambda c: self.log_prob(params, jnp.full(batch_shape, c, jnp.int32)),
                         out_axes=-1)
    return per_class(jnp.arange(self.num_classes, dtype=jnp.int32))

  def sample(self, key, params, temperature=1.0):
    """int32 samples [N] in [0, C) from params [N, 3K].

    A component is drawn from softmax(logit_weights / temperature), then a
    logistic value with its scale multiplied by temperature, which is rounded
    to the nearest class and clipped to [0, C-1]. temperature = 1 samples the
    distribution exactly; T -> 0 tends to the rounded mean of the most likely
    component.
    """
    _check_params(params, self.num_params, "DiscretizedLogisticMixture")
    logit_w, means, log_s = self._split(params)
    k_comp, k_noise = jax.random.split(key)
    comp = jax.random.categorical(k_comp, _temper(logit_w, temperature), axis=-1)
    mean = jnp.take_along_axis(means, comp[..., None], axis=-1)[..., 0]
    scale = jnp.exp(jnp.take_along_axis(log_s, comp[..., None], axis=-1)[..., 0])
    y = mean + scale * temperature * jax.random.logistic(k_noise, mean.shape, mean.dtype)
    cls = jnp.round((y + 1.0) * (0.5 * (self.num_classes - 1)))
    return jnp.clip(cls, 0, self.num_classes - 1).astype(jnp.int32)

  def mean(self, params):
    """Exact expected class index [N] (in [0, C-1] units)."""
    probs = jnp.exp(self.class_log_probs(params))
    return probs @ jnp.arange(self.num_classes, dtype=probs.dtype)


_FAMILIES = ("gaussian", "laplace")


@dataclasses.dataclass(frozen=True)
class MixtureOfGaussians:
  """Mixture of K Gaussians (or Laplaces) for real-valued data, as in RNADE.

  Params [..., 3K] = [logit_weights (K), means (K), log_scales (K)], where the
  scale is the standard deviation (gaussian) or the Laplace scale b (laplace,
  density exp(-|x - m| / b) / 2b). log_scales are not clamped. As a real-valued
  distribution it has `is_discrete = False` and `num_classes = None`.

  Attributes:
    num_components: K, the number of mixture components.
    family: "gaussian" or "laplace" (the component density).
  """
  num_components: int
  family: str = "gaussian"
  is_discrete: bool = dataclasses.field(default=False, init=False)
  num_classes: None = dataclasses.field(default=None, init=False)

  def __post_init__(self):
    object.__setattr__(self, "num_components", _as_int(
        self.num_components, "num_components", "MixtureOfGaussians", 1))
    if self.family not in _FAMILIES:
      raise ValueError(
          f"MixtureOfGaussians: family must be one of {_FAMILIES}, got {self.family!r}")

  @property
  def num_params(self):
    return 3 * self.num_components

  def log_prob(self, params, x):
    """Log-density [N] (nats) of real x_N under params [N, 3K]."""
    x = jnp.asarray(x)
    _check(params, x, self.num_params, "MixtureOfGaussians")
    logit_w, means, log_s = _split3(params, self.num_components)
    z = (x[..., None].astype(means.dtype) - means) * jnp.exp(-log_s)
    if self.family == "gaussian":
      log_comp = -0.5 * jnp.square(z) - log_s - 0.5 * math.log(2.0 * math.pi)
    else:
      log_comp = -jnp.abs(z) - log_s - math.log(2.0)
    return jax.nn.logsumexp(jax.nn.log_softmax(logit_w, axis=-1) + log_comp, axis=-1)

  def sample(self, key, params, temperature=1.0):
    """float samples [N] from params [N, 3K].

    A component is drawn from softmax(logit_weights / temperature), then
    mean + scale * temperature * noise (standard normal or Laplace noise), so
    temperature scales the noise and sharpens the mixture weights; 1 is exact.
    """
    _check_params(params, self.num_params, "MixtureOfGaussians")
    logit_w, means, log_s = _split3(params, self.num_components)
    k_comp, k_noise = jax.random.split(key)
    comp = jax.random.categorical(k_comp, _temper(logit_w, temperature), axis=-1)
    mean = jnp.take_along_axis(means, comp[..., None], axis=-1)[..., 0]
    scale = jnp.exp(jnp.take_along_axis(log_s, comp[..., None], axis=-1)[..., 0])
    draw = jax.random.normal if self.family == "gaussian" else jax.random.laplace
    return mean + scale * temperature * draw(k_noise, mean.shape, mean.dtype)

  def mean(self, params):
    _check_params(params, self.num_params, "MixtureOfGaussians")
    logit_w, means, _ = _split3(params, self.num_components)
    return jnp.sum(jax.nn.softmax(logit_w, axis=-1) * means, axis=-1)


def for_classes(num_classes):
  """The default discrete output distribution for `num_classes` values.

  Binary data (K = 2) get a `Bernoulli` with a single logit, as in FVSBN, NADE and
  MADE; K > 2 gets a `Categorical`.
  """
  num_classes = _as_int(num_classes, "num_classes", "for_classes", 2)
  if num_classes == 2:
    return Bernoulli()
  return Categorical(num_classes)


def bits_per_dim(nll_nats, num_dims):
  """Converts a per-example NLL in nats to bits per dimension."""
  num_dims = _as_int(num_dims, "num_dims", "bits_per_dim", 1)
  return nll_nats / (num_dims * math.log(2.0))

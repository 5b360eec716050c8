"""Discretized logistic mixtures (PixelCNN++, Salimans et al. 2017).

`DiscretizedLogisticMixture` is per element (one scalar per dimension, no
coupling); `PixelDiscretizedLogisticMixture` is per pixel: the C channels of a
pixel share the mixture weights and each channel's mean is linear in the
earlier channels' values.
"""

import dataclasses
import functools
import math
import numbers

import jax
import jax.numpy as jnp

from ar_jax.distributions.checks import (as_int, check_params, check_shapes, nan_unless,
                                          split3, temper)


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


def component_log_mass(x, means, log_s, num_classes):
  """log P_k(x) [..., K]: mass of class x under each discretized logistic.

  Args:
    x: class values [...] in [0, num_classes) (integer, or float class values;
      a value outside the range gets an interior-bin mass, not NaN).
    means: [..., K] in the rescaled [-1, 1] units.
    log_s: [..., K] log-scales, already clamped.
    num_classes: the number of classes C.
  """
  c = num_classes
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
  return jnp.where(xk == 0, log_cdf_upper, jnp.where(xk == c - 1, log_sf_lower, log_mass))


def to_class(y, num_classes):
  """Rescaled values y (any real) -> int32 classes: the nearest bin, edges take the tails."""
  cls = jnp.round((y + 1.0) * (0.5 * (num_classes - 1)))
  return jnp.clip(cls, 0, num_classes - 1).astype(jnp.int32)


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
    object.__setattr__(self, "num_mixtures", as_int(self.num_mixtures, "num_mixtures", name, 1))
    object.__setattr__(self, "num_classes", as_int(self.num_classes, "num_classes", name, 2))
    if not isinstance(self.min_log_scale, numbers.Real) or not math.isfinite(self.min_log_scale):
      raise ValueError(f"{name}: min_log_scale must be a finite float, got {self.min_log_scale!r}")

  @property
  def num_params(self):
    return 3 * self.num_mixtures

  def _split(self, params):
    logit_w, means, log_s = split3(params, self.num_mixtures)
    return logit_w, means, jnp.maximum(log_s, self.min_log_scale)

  def log_prob(self, params, x):
    """Log-probability [N] of integer x_N in [0, C) under params [N, 3K].

    Raises:
      ValueError: on a shape mismatch or a non-integer dtype of x.
    """
    x = jnp.asarray(x)
    check_shapes(params, x, self.num_params, "DiscretizedLogisticMixture")
    if not jnp.issubdtype(x.dtype, jnp.integer):
      raise ValueError(
          f"DiscretizedLogisticMixture: x must have an integer dtype (class indices in "
          f"[0, {self.num_classes})), got {x.dtype}")
    return self._log_prob(params, x)

  # jit so that eager callers pay one compilation, not one per primitive.
  @functools.partial(jax.jit, static_argnums=0)
  def _log_prob(self, params, x):
    logit_w, means, log_s = self._split(params)
    log_comp = component_log_mass(x, means, log_s, self.num_classes)
    logp = jax.nn.logsumexp(jax.nn.log_softmax(logit_w, axis=-1) + log_comp, axis=-1)
    return nan_unless((x >= 0) & (x < self.num_classes), logp)

  def class_log_probs(self, params):
    """Log-probabilities [N, C] of every class under params [N, 3K]."""
    check_params(params, self.num_params, "DiscretizedLogisticMixture")
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
    check_params(params, self.num_params, "DiscretizedLogisticMixture")
    logit_w, means, log_s = self._split(params)
    k_comp, k_noise = jax.random.split(key)
    comp = jax.random.categorical(k_comp, temper(logit_w, temperature), axis=-1)
    mean = jnp.take_along_axis(means, comp[..., None], axis=-1)[..., 0]
    scale = jnp.exp(jnp.take_along_axis(log_s, comp[..., None], axis=-1)[..., 0])
    y = mean + scale * temperature * jax.random.logistic(k_noise, mean.shape, mean.dtype)
    return to_class(y, self.num_classes)

  def mean(self, params):
    """Exact expected class index [N] (in [0, C-1] units)."""
    probs = jnp.exp(self.class_log_probs(params))
    return probs @ jnp.arange(self.num_classes, dtype=probs.dtype)

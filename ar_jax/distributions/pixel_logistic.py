"""PixelCNN++'s discretized logistic mixture over the C channels of a pixel.

Per pixel (Salimans et al. 2017, eqs. 2-3, for any number of channels C):
  p(x) = sum_k pi_k prod_c P(x_c; mu_ck + sum_{j<c} a_cjk y_j, s_ck),
with y_j = 2 x_j / (L-1) - 1 the rescaled value of the earlier channel j of the
same pixel, P the discretized logistic of `DiscretizedLogisticMixture` (L
classes, edge classes take the tails), and a_cjk = tanh(raw), as in PixelCNN++,
so a channel's mean moves by less than one unit per unit of an earlier channel.

Params per pixel, [..., P] with P = K (1 + 2C + C(C-1)/2):
  [logit_weights (K) | means (C x K) | log_scales (C x K) | coeffs (C(C-1)/2 x K)],
each block channel-major (channel c's K values together); the coefficient
pairs (c, j), j < c, run row by row: (1,0), (2,0), (2,1), (3,0), ... For C = 3
that is PixelCNN++'s 10 K outputs per pixel (other block order).

Per element: `channel_params(params, x)` gives each channel's exact conditional
p(x_c | x_<c) as `channel_distribution` (a `DiscretizedLogisticMixture`)
params [..., C, 3K]. The mixture weights are then the posterior over
components given the earlier channels, pi_k prod_{j<c} P_k(x_j | x_<j)
(normalized by the DLM's own softmax), so the product over channels of the
conditionals is p(x) exactly. A model can thus return these per-dimension
params under a raster (h, w, c) ordering and use `ARModel`'s likelihood and
`ar_jax.sample` unchanged.
"""

import dataclasses
import functools
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from ar_jax.distributions.checks import as_int, check_params, nan_unless, temper
from ar_jax.distributions.logistic import (DiscretizedLogisticMixture, component_log_mass,
                                           to_class)

_NAME = "PixelDiscretizedLogisticMixture"


@dataclasses.dataclass(frozen=True)
class PixelDiscretizedLogisticMixture:
  """Mixture of K discretized logistics over the C coupled channels of a pixel.

  `log_prob(params [..., P], x [..., C]) -> [...]` is the joint log-probability
  of a pixel; `sample(key, params [..., P], temperature) -> int32 [..., C]`.

  Attributes:
    num_mixtures: K, the number of components (shared by the channels).
    num_channels: C, the channels of a pixel (3 for RGB).
    num_classes: L, the integer values of a channel (256 for 8-bit data).
    min_log_scale: lower clamp for log_scales (as `DiscretizedLogisticMixture`).
  """
  num_mixtures: int
  num_channels: int = 3
  num_classes: int = 256
  min_log_scale: float = -7.0
  is_discrete: bool = dataclasses.field(default=True, init=False)

  def __post_init__(self):
    object.__setattr__(self, "num_mixtures", as_int(self.num_mixtures, "num_mixtures", _NAME, 1))
    object.__setattr__(self, "num_channels", as_int(self.num_channels, "num_channels", _NAME, 1))
    object.__setattr__(self, "num_classes", as_int(self.num_classes, "num_classes", _NAME, 2))
    if not isinstance(self.min_log_scale, numbers.Real) or not math.isfinite(self.min_log_scale):
      raise ValueError(f"{_NAME}: min_log_scale must be a finite float, got {self.min_log_scale!r}")

  @property
  def num_params(self):
    """P per pixel: K (1 + 2C + C(C-1)/2)."""
    c = self.num_channels
    return self.num_mixtures * (1 + 2 * c + c * (c - 1) // 2)

  @property
  def channel_distribution(self):
    """The per-element distribution of each channel's conditional (`channel_params`)."""
    return DiscretizedLogisticMixture(self.num_mixtures, self.num_classes, self.min_log_scale)

  def _split(self, params):
    """-> logit_w [..., K], means and clamped log_s [..., C, K], coeffs [..., C, C, K]."""
    k, c = self.num_mixtures, self.num_channels
    batch = params.shape[:-1]
    logit_w = params[..., :k]
    means = params[..., k:k + c * k].reshape(batch + (c, k))
    log_s = params[..., k + c * k:k + 2 * c * k].reshape(batch + (c, k))
    pairs = jnp.tanh(params[..., k + 2 * c * k:].reshape(batch + (c * (c - 1) // 2, k)))
    # Strictly lower-triangular [C, C] per component: channel c never reads x_c
    # or a later channel (structural zeros, so gradients there are exactly 0).
    rows, cols = np.tril_indices(c, -1)
    coeffs = jnp.zeros(batch + (c, c, k), params.dtype).at[..., rows, cols, :].set(pairs)
    return logit_w, means, jnp.maximum(log_s, self.min_log_scale), coeffs

  def _rescale(self, x, dtype):
    return 2.0 * x.astype(dtype) / (self.num_classes - 1) - 1.0

  def _check(self, params, x):
    p_shape, x_shape = tuple(jnp.shape(params)), tuple(jnp.shape(x))
    c, p = self.num_channels, self.num_params
    if x_shape[-1:] != (c,) or p_shape != x_shape[:-1] + (p,):
      raise ValueError(
          f"{_NAME}: expected x [..., num_channels] = [..., {c}] and params "
          f"x.shape[:-1] + ({p},); got params {p_shape} for x {x_shape}")

  def _conditionals(self, params, x):
    """Per channel and component: logit_w, means, log_s and log P_k(x_c | x_<c)."""
    logit_w, means, log_s, coeffs = self._split(params)
    y = self._rescale(x, means.dtype)
    means = means + jnp.einsum("...cjk,...j->...ck", coeffs, y)
    return logit_w, means, log_s, component_log_mass(x, means, log_s, self.num_classes)

  def log_prob(self, params, x):
    """Joint log-probability [...] of integer pixels x [..., C] under params [..., P].

    Raises:
      ValueError: on a shape mismatch or a non-integer dtype of x.
    """
    x = jnp.asarray(x)
    self._check(params, x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
      raise ValueError(f"{_NAME}: x must have an integer dtype (class indices in "
                       f"[0, {self.num_classes})), got {x.dtype}")
    return self._log_prob(params, x)

  # jit so that eager callers pay one compilation, not one per primitive.
  @functools.partial(jax.jit, static_argnums=0)
  def _log_prob(self, params, x):
    logit_w, _, _, log_comp = self._conditionals(params, x)
    logp = jax.nn.logsumexp(jax.nn.log_softmax(logit_w, axis=-1) + log_comp.sum(-2), axis=-1)
    return nan_unless(jnp.all((x >= 0) & (x < self.num_classes), axis=-1), logp)

  def channel_params(self, params, x):
    """`channel_distribution` params [..., C, 3K] of p(x_c | x_<c) for every channel.

    Row c depends on x_j for j < c only (not on x_c or later channels, which
    may hold anything, e.g. zeros before they are sampled). x may be integer
    or float class values (a float lets causality be checked by gradients).
    """
    x = jnp.asarray(x)
    self._check(params, x)
    logit_w, means, log_s, log_comp = self._conditionals(params, x)
    # Posterior weights: log pi_k + sum_{j<c} log P_k(x_j | x_<j), an exclusive
    # cumulative sum over channels.
    seen = jnp.cumsum(log_comp[..., :-1, :], axis=-2)
    seen = jnp.concatenate([jnp.zeros_like(log_comp[..., :1, :]), seen], axis=-2)
    post = jax.nn.log_softmax(logit_w, axis=-1)[..., None, :] + seen
    return jnp.concatenate([post, means, log_s], axis=-1)

  def sample(self, key, params, temperature=1.0):
    """int32 pixels [..., C] from params [..., P].

    One component per pixel from softmax(logit_weights / temperature), then the
    channels in order, each a logistic draw with its scale times temperature
    around its mean given the earlier channels' sampled classes, rounded to
    the nearest class and clipped. temperature = 1 samples `log_prob` exactly.
    (Sampling per element from `channel_params` is exact at temperature 1
    too, but tempers the posterior weights of each channel instead.)
    """
    check_params(params, self.num_params, _NAME)
    logit_w, means, log_s, coeffs = self._split(params)
    k_comp, k_noise = jax.random.split(key)
    comp = jax.random.categorical(k_comp, temper(logit_w, temperature), axis=-1)

    def pick(a):  # [..., *S, K] -> [..., *S] at the drawn component
      idx = jnp.broadcast_to(comp.reshape(comp.shape + (1,) * (a.ndim - comp.ndim)),
                             a.shape[:-1] + (1,))
      return jnp.take_along_axis(a, idx, axis=-1)[..., 0]

    mean_C, scale_C, coeff_CxC = pick(means), jnp.exp(pick(log_s)), pick(coeffs)
    noise = jax.random.logistic(k_noise, mean_C.shape, mean_C.dtype)
    xs, ys = [], []
    for c in range(self.num_channels):
      y = mean_C[..., c] + scale_C[..., c] * temperature * noise[..., c]
      for j in range(c):
        y = y + coeff_CxC[..., c, j] * ys[j]
      xs.append(to_class(y, self.num_classes))
      ys.append(self._rescale(xs[-1], y.dtype))
    return jnp.stack(xs, axis=-1)

"""Output distributions of autoregressive models: per element and per pixel.

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

Per-pixel distributions couple the C channels of a pixel, so their params
are per pixel and `x` has a trailing channel axis:

- `num_params`: P per pixel; `num_channels`: C;
- `log_prob(params [..., P], x [..., C]) -> [...]`: joint log-prob of a pixel;
- `sample(key, params [..., P], temperature) -> x [..., C]`;
- `channel_params(params [..., P], x [..., C]) -> [..., C, P_c]`: the params
  of each channel's conditional p(x_c | x_<c) as the per-element
  `channel_distribution` (row c reads x_j, j < c, only).

The model contract stays per dimension (`ar_jax.models.base`): a model with
per-pixel outputs returns `channel_params(...)`, reshaped to
`[B, H, W, C, P_c]`, declares `distribution = pixel_dist.channel_distribution`
and generates in raster (h, w, c) order, the natural row-major order of
`[H, W, C]`; likelihoods and `ar_jax.sample` then work unchanged and exactly.

Modules: `discrete` (Bernoulli, Categorical), `gaussian` (MixtureOfGaussians),
`logistic` (DiscretizedLogisticMixture), `pixel_logistic`
(PixelDiscretizedLogisticMixture, PixelCNN++'s RGB coupling), `checks`.
"""

from ar_jax.distributions.discrete import Bernoulli, Categorical, for_classes
from ar_jax.distributions.gaussian import MixtureOfGaussians
from ar_jax.distributions.logistic import DiscretizedLogisticMixture
from ar_jax.distributions.pixel_logistic import PixelDiscretizedLogisticMixture


__all__ = ["Bernoulli", "Categorical", "DiscretizedLogisticMixture", "MixtureOfGaussians",
           "PixelDiscretizedLogisticMixture", "for_classes"]

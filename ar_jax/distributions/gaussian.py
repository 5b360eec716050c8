"""Real-valued output distribution: `MixtureOfGaussians` (or of Laplaces), as in RNADE."""

import dataclasses
import math

import jax
import jax.numpy as jnp

from ar_jax.distributions.checks import as_int, check_params, check_shapes, split3, temper


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
    object.__setattr__(self, "num_components", as_int(
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
    check_shapes(params, x, self.num_params, "MixtureOfGaussians")
    logit_w, means, log_s = split3(params, self.num_components)
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
    check_params(params, self.num_params, "MixtureOfGaussians")
    logit_w, means, log_s = split3(params, self.num_components)
    k_comp, k_noise = jax.random.split(key)
    comp = jax.random.categorical(k_comp, temper(logit_w, temperature), axis=-1)
    mean = jnp.take_along_axis(means, comp[..., None], axis=-1)[..., 0]
    scale = jnp.exp(jnp.take_along_axis(log_s, comp[..., None], axis=-1)[..., 0])
    draw = jax.random.normal if self.family == "gaussian" else jax.random.laplace
    return mean + scale * temperature * draw(k_noise, mean.shape, mean.dtype)

  def mean(self, params):
    check_params(params, self.num_params, "MixtureOfGaussians")
    logit_w, means, _ = split3(params, self.num_components)
    return jnp.sum(jax.nn.softmax(logit_w, axis=-1) * means, axis=-1)

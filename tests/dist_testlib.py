"""Helpers shared by the distribution tests: batched draws and a TV-distance bound."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

N_DRAWS = 200_000


@functools.partial(jax.jit, static_argnums=(0, 3))
def draw(dist, key, params_P, n, temperature):
  """n samples from one parameter vector (broadcast explicitly to [n, P])."""
  params = jnp.broadcast_to(params_P, (n,) + params_P.shape)
  return dist.sample(key, params, temperature)


def tv_bound(n, num_classes, delta=1e-6):
  """A bound that TV(empirical, true) exceeds with probability <= delta.

  E[TV] <= 1/2 sum_c sqrt(p_c / n) <= 1/2 sqrt(C / n) (Jensen, Cauchy-Schwarz),
  and TV moves by at most 1/n per draw, so by McDiarmid it exceeds its mean
  by t with probability <= exp(-2 n t^2) = delta.
  """
  return 0.5 * math.sqrt(num_classes / n) + math.sqrt(math.log(1 / delta) / (2 * n))


def tv(samples, probs):
  """Total variation between the empirical law of integer samples and probs."""
  samples = np.asarray(samples).ravel()
  freqs = np.bincount(samples, minlength=probs.size) / samples.size
  assert freqs.shape == probs.shape, "a sample fell outside [0, num_classes)"
  return 0.5 * np.abs(freqs - probs).sum()

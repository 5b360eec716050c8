"""Tests for the per-pixel PixelCNN++ mixture against a float64 numpy reference."""

import itertools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from ar_jax import distributions as D

import dist_testlib


def _ref_bin_mass(x, mu, s, num_classes):
  """Discretized logistic mass of class x (float64, edges take the tails)."""
  h = 1.0 / (num_classes - 1)
  y = 2 * h * x - 1
  a, b = (y + h - mu) / s, (y - h - mu) / s
  mass = np.where(a + b < 0, special.expit(a) - special.expit(b),
                  special.expit(-b) - special.expit(-a))
  nodes, weights = np.polynomial.legendre.leggauss(8)  # narrow bins: integrate F'
  z = (a + b)[..., None] / 2 + (a - b)[..., None] / 2 * nodes
  mass = np.where(a - b < 0.5, (a - b) / 2 * ((special.expit(z) * special.expit(-z)) @ weights),
                  mass)
  return np.where(x == 0, special.expit(a), np.where(x == num_classes - 1, special.expit(-b), mass))


def _pixel_ref_log_prob(params, x, k, c, num_classes, min_log_scale=-7.0):
  """Joint log p(x) [N] of pixels x [N, C], written from the PixelCNN++ formula."""
  params, x = np.asarray(params, np.float64), np.asarray(x, np.float64)
  n = params.shape[0]
  log_w = special.log_softmax(params[:, :k], axis=-1)
  mu = params[:, k:k + c * k].reshape(n, c, k)
  s = np.exp(np.maximum(params[:, k + c * k:k + 2 * c * k].reshape(n, c, k), min_log_scale))
  raw = params[:, k + 2 * c * k:].reshape(n, -1, k)
  y = 2 * x / (num_classes - 1) - 1
  log_comp = np.zeros((n, k))
  pair = 0
  for ch in range(c):
    mean = mu[:, ch].copy()
    for j in range(ch):  # pairs (1,0), (2,0), (2,1), ...
      mean += np.tanh(raw[:, pair]) * y[:, j:j + 1]
      pair += 1
    log_comp += np.log(_ref_bin_mass(x[:, ch:ch + 1], mean, s[:, ch], num_classes))
  return special.logsumexp(log_w + log_comp, axis=-1)


def _pixel_params(dist, seed, n, spread=1.0):
  rng = np.random.default_rng(seed)
  k, c = dist.num_mixtures, dist.num_channels
  num_coeffs = dist.num_params - k - 2 * c * k
  return np.concatenate([
      2 * rng.standard_normal((n, k)), spread * rng.uniform(-1.5, 1.5, (n, c * k)),
      rng.uniform(-5, 1, (n, c * k)), 2 * rng.standard_normal((n, num_coeffs))],
      axis=-1).astype(np.float32)


def _all_pixels(num_classes, c):
  return jnp.asarray(list(itertools.product(range(num_classes), repeat=c)), jnp.int32)


def test_pixel_dlm_layout_and_attributes():
  dist = D.PixelDiscretizedLogisticMixture(5)
  assert dist.num_params == 50 and dist.num_channels == 3 and dist.is_discrete  # PixelCNN++: 10 K
  assert D.PixelDiscretizedLogisticMixture(2, 4, 16).num_params == 2 * (1 + 8 + 6)
  assert dist.channel_distribution == D.DiscretizedLogisticMixture(5, 256)
  assert hash(dist) == hash(D.PixelDiscretizedLogisticMixture(5, 3, 256))


@pytest.mark.parametrize("c", [1, 2, 3, 4])
def test_pixel_dlm_normalizes_exactly_and_matches_reference(c):
  dist = D.PixelDiscretizedLogisticMixture(3, c, 4)
  x = _all_pixels(4, c)  # every joint value: 4 ** c
  for seed, spread in [(0, 1.0), (1, 3.0), (2, 0.2)]:
    params = _pixel_params(dist, seed + 10 * c, 1, spread)
    params_all = jnp.broadcast_to(jnp.asarray(params), (x.shape[0], dist.num_params))
    logp = dist.log_prob(params_all, x)
    np.testing.assert_allclose(float(jnp.sum(jnp.exp(logp))), 1.0, atol=1e-5)
    ref = _pixel_ref_log_prob(np.broadcast_to(params, params_all.shape), x, 3, c, 4)
    np.testing.assert_allclose(np.exp(ref).sum(), 1.0, atol=1e-12)  # the reference too
    np.testing.assert_allclose(logp, ref, rtol=1e-5, atol=2e-5)


def test_pixel_dlm_matches_reference_on_8_bit_pixels():
  dist = D.PixelDiscretizedLogisticMixture(4, 3, 256)
  params = _pixel_params(dist, 3, 200)
  x = np.random.default_rng(3).integers(0, 256, (200, 3))
  x[:20] = [0, 255, 0]  # edge classes, which take the tails
  got = dist.log_prob(jnp.asarray(params), jnp.asarray(x))
  np.testing.assert_allclose(got, _pixel_ref_log_prob(params, x, 4, 3, 256), rtol=1e-5, atol=1e-4)


def test_pixel_dlm_one_channel_is_the_per_element_mixture():
  dist = D.PixelDiscretizedLogisticMixture(3, 1, 16)
  params = jnp.asarray(_pixel_params(dist, 4, 64))
  x = jnp.asarray(np.random.default_rng(4).integers(0, 16, 64))
  np.testing.assert_allclose(dist.log_prob(params, x[:, None]),
                             D.DiscretizedLogisticMixture(3, 16).log_prob(params, x), rtol=1e-6)


def test_pixel_dlm_channel_conditionals_multiply_to_the_joint():
  dist = D.PixelDiscretizedLogisticMixture(3, 3, 16)
  params = jnp.asarray(_pixel_params(dist, 5, 128).reshape(4, 32, -1))
  x = jnp.asarray(np.random.default_rng(5).integers(0, 16, (4, 32, 3)))
  per_channel = dist.channel_params(params, x)
  assert per_channel.shape == (4, 32, 3, 9)
  chained = dist.channel_distribution.log_prob(per_channel, x).sum(-1)
  np.testing.assert_allclose(chained, dist.log_prob(params, x), rtol=1e-5, atol=1e-5)


def test_pixel_dlm_channel_params_read_only_earlier_channels():
  dist = D.PixelDiscretizedLogisticMixture(2, 4, 16)
  params = jnp.asarray(_pixel_params(dist, 6, 1)[0])
  x0 = jnp.array([3.0, 9.0, 14.0, 6.0])  # float class values: differentiable
  jac = jax.jacrev(lambda x: dist.channel_params(params, x))(x0)  # [C, 3K, C]
  dep = np.asarray(jnp.any(jac != 0, axis=1))  # [c, j]: row c reads x_j
  np.testing.assert_array_equal(dep, np.tri(4, k=-1, dtype=bool))


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_pixel_dlm_sample_frequencies(temperature):
  dist = D.PixelDiscretizedLogisticMixture(3, 3, 4)
  params = _pixel_params(dist, 7, 1)[0]
  draws = dist_testlib.draw(dist, jax.random.key(7), jnp.asarray(params), dist_testlib.N_DRAWS, temperature)
  assert draws.shape == (dist_testlib.N_DRAWS, 3) and draws.dtype == jnp.int32
  # Temperature T: weights softmax(w / T) and scales s * T; coefficients unchanged.
  tempered = params.astype(np.float64).copy()
  tempered[:3] /= temperature
  tempered[12:21] += np.log(temperature)
  x = _all_pixels(4, 3)
  want = np.exp(_pixel_ref_log_prob(np.broadcast_to(tempered, (64, 30)), x, 3, 3, 4))
  codes = np.asarray(draws) @ np.array([16, 4, 1])
  assert dist_testlib.tv(codes, want) < dist_testlib.tv_bound(dist_testlib.N_DRAWS, 64)
  if temperature != 1.0:
    untempered = np.exp(_pixel_ref_log_prob(np.broadcast_to(params, (64, 30)), x, 3, 3, 4))
    assert dist_testlib.tv(codes, untempered) > 5 * dist_testlib.tv_bound(dist_testlib.N_DRAWS, 64)


def test_pixel_dlm_gradients_are_finite_at_extremes():
  dist = D.PixelDiscretizedLogisticMixture(2, 3, 256)
  rows = []
  for logit, mean, log_s, coeff in itertools.product([-1e4, 0.0, 1e4], [-50.0, 0.0, 50.0],
                                                     [-20.0, -7.0, 30.0, 100.0], [-1e3, 0.0, 1e3]):
    rows.append([logit, -logit] + [mean, -mean] * 3 + [log_s, 0.0] * 3 + [coeff, -coeff] * 3)
  params = jnp.asarray(rows, jnp.float32)
  x = jnp.asarray(np.random.default_rng(8).choice([0, 1, 128, 254, 255], (len(rows), 3)))
  logp, grad = jax.value_and_grad(lambda p: dist.log_prob(p, x).sum())(params)
  assert np.isfinite(np.asarray(logp)) and np.isfinite(np.asarray(grad)).all()
  g_cond = jax.grad(lambda p: dist.channel_distribution.log_prob(
      dist.channel_params(p, x), x).sum())(params)
  assert np.isfinite(np.asarray(g_cond)).all()


def test_pixel_dlm_bad_inputs():
  dist = D.PixelDiscretizedLogisticMixture(2, 3, 16)
  p = dist.num_params
  for bad_params, bad_x in [((4, p), (4, 2)), ((4, p + 1), (4, 3)), ((5, p), (4, 3)), ((4,), (3,))]:
    with pytest.raises(ValueError, match=re.escape("[..., 3]")):
      dist.log_prob(jnp.zeros(bad_params), jnp.zeros(bad_x, jnp.int32))
  with pytest.raises(ValueError, match="integer dtype"):
    dist.log_prob(jnp.zeros((2, p)), jnp.zeros((2, 3)))
  got = dist.log_prob(jnp.zeros((3, p)), jnp.array([[0, 1, 15], [0, 16, 2], [-1, 0, 0]]))
  np.testing.assert_array_equal(np.isnan(got), [False, True, True])
  with pytest.raises(ValueError, match=re.escape(f"[..., {p}]")):
    dist.sample(jax.random.key(0), jnp.zeros((2, p + 1)))
  with pytest.raises(ValueError, match="temperature"):
    dist.sample(jax.random.key(0), jnp.zeros((2, p)), 0.0)
  for bad_arg, value in [("num_mixtures", 0), ("num_channels", 0), ("num_classes", 1),
                         ("min_log_scale", float("nan"))]:
    with pytest.raises(ValueError, match=bad_arg):
      D.PixelDiscretizedLogisticMixture(**{"num_mixtures": 1, bad_arg: value})

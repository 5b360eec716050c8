"""Tests for ar_jax.distributions against float64 numpy/scipy references."""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from ar_jax import distributions as D

import dist_testlib


# ---------------------------------------------------------------- Bernoulli

def test_bernoulli_log_prob_matches_scipy():
  logits = np.linspace(-20, 20, 41).astype(np.float32)
  x = (np.arange(41) % 2).astype(np.int32)
  got = D.Bernoulli().log_prob(jnp.asarray(logits)[:, None], jnp.asarray(x))
  want = stats.bernoulli.logpmf(x, special.expit(logits.astype(np.float64)))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_bernoulli_equals_two_class_categorical():
  logits = jnp.linspace(-8.0, 8.0, 9)
  x = jnp.arange(9) % 2
  two = jnp.stack([jnp.zeros_like(logits), logits], axis=-1)
  np.testing.assert_allclose(D.Bernoulli().log_prob(logits[:, None], x),
                             D.Categorical(2).log_prob(two, x), rtol=1e-5, atol=1e-6)


def test_bernoulli_extreme_logits_are_finite_and_exact():
  logits = jnp.array([[1e4], [1e4], [-1e4], [-1e4]])
  got = D.Bernoulli().log_prob(logits, jnp.array([1, 0, 1, 0]))
  np.testing.assert_allclose(got, [0.0, -1e4, -1e4, 0.0], rtol=1e-6)


def test_bernoulli_invalid_values_give_nan():
  got = D.Bernoulli().log_prob(jnp.zeros((4, 1)), jnp.array([0.0, 1.0, 2.0, 0.5]))
  np.testing.assert_array_equal(np.isnan(got), [False, False, True, True])


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_bernoulli_sample_frequencies(temperature):
  logits = jnp.array([[-2.0], [0.0], [1.5]])
  draws = dist_testlib.draw(D.Bernoulli(), jax.random.key(0), logits, dist_testlib.N_DRAWS, temperature)
  assert draws.shape == (dist_testlib.N_DRAWS, 3) and draws.dtype == jnp.int32
  p = special.expit(np.array([-2.0, 0.0, 1.5]) / temperature)
  se = np.sqrt(p * (1 - p) / dist_testlib.N_DRAWS)
  np.testing.assert_array_less(np.abs(np.asarray(draws).mean(0) - p), 5 * se)


# -------------------------------------------------------------- Categorical

def test_categorical_log_prob_matches_reference():
  rng = np.random.default_rng(0)
  logits = (5 * rng.standard_normal((3, 4, 5))).astype(np.float32)
  x = rng.integers(0, 5, (3, 4))
  got = D.Categorical(5).log_prob(jnp.asarray(logits), jnp.asarray(x))
  logp64 = special.log_softmax(logits.astype(np.float64), axis=-1)
  want = np.take_along_axis(logp64, x[..., None], axis=-1)[..., 0]
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  want_scipy = [stats.multinomial.logpmf(np.eye(5)[xi], 1, np.exp(lp))
                for xi, lp in zip(x.ravel(), logp64.reshape(-1, 5))]
  np.testing.assert_allclose(np.ravel(got), want_scipy, rtol=1e-5, atol=1e-5)


def test_categorical_extreme_logits_are_finite_and_exact():
  logits = jnp.broadcast_to(jnp.array([1e4, -1e4, 0.0]), (3, 3))
  got = D.Categorical(3).log_prob(logits, jnp.array([0, 1, 2]))
  np.testing.assert_allclose(got, [0.0, -2e4, -1e4], rtol=1e-6)


def test_categorical_invalid_values_give_nan():
  got = D.Categorical(3).log_prob(jnp.zeros((5, 3)), jnp.array([-1, 0, 2, 3, 7]))
  np.testing.assert_array_equal(np.isnan(got), [True, False, False, True, True])


@pytest.mark.parametrize("temperature", [1.0, 0.4, 2.5])
def test_categorical_sample_frequencies_follow_tempered_softmax(temperature):
  logits = np.array([1.0, -0.5, 0.0, 2.0, -3.0, 0.7], np.float32)
  draws = dist_testlib.draw(D.Categorical(6), jax.random.key(1), jnp.asarray(logits), dist_testlib.N_DRAWS, temperature)
  want = special.softmax(logits.astype(np.float64) / temperature)
  bound = dist_testlib.tv_bound(dist_testlib.N_DRAWS, 6)
  assert dist_testlib.tv(draws, want) < bound
  if temperature != 1.0:  # The check is sharp enough to tell T from 1.
    assert dist_testlib.tv(draws, special.softmax(logits.astype(np.float64))) > 5 * bound


def test_categorical_rejects_bad_num_classes():
  for k in (1, 0, 2.5, True, "3"):
    with pytest.raises(ValueError, match="num_classes"):
      D.Categorical(k)


# ------------------------------------------------ shared: shapes, temperature

ALL_DISTS = [D.Bernoulli(), D.Categorical(3), D.DiscretizedLogisticMixture(2, 16),
             D.MixtureOfGaussians(2)]


@pytest.mark.parametrize("dist", ALL_DISTS, ids=lambda d: type(d).__name__)
def test_shape_mismatch_raises_with_expected_shape(dist):
  p = dist.num_params
  x = jnp.zeros((5,), jnp.int32)
  for bad in [(4, p), (5, p + 1), (5,), (5, 1, p), ()]:  # (5,): P axis missing
    with pytest.raises(ValueError, match=re.escape(str((5, p)))):
      dist.log_prob(jnp.zeros(bad), x)
  with pytest.raises(ValueError, match=re.escape(f"[..., {p}]")):
    dist.sample(jax.random.key(0), jnp.zeros((5, p + 1)))


@pytest.mark.parametrize("dist", ALL_DISTS, ids=lambda d: type(d).__name__)
def test_bad_temperature_raises(dist):
  params = jnp.zeros((2, dist.num_params))
  for t in (0.0, -1.0, np.float32(0.0), jnp.array(-0.5), float("nan"), jnp.ones(2)):
    with pytest.raises(ValueError, match="temperature"):
      dist.sample(jax.random.key(0), params, t)


def test_distributions_are_hashable_values():
  assert hash(D.DiscretizedLogisticMixture(3)) == hash(D.DiscretizedLogisticMixture(3))
  assert D.MixtureOfGaussians(2, "laplace") != D.MixtureOfGaussians(2)
  assert D.Categorical(np.int64(4)) == D.Categorical(4)


def test_for_classes():
  assert D.for_classes(2) == D.Bernoulli()
  assert D.for_classes(5) == D.Categorical(5)
  for bad in (1, 2.0, None):
    with pytest.raises(ValueError, match="num_classes"):
      D.for_classes(bad)


# --------------------------------------------- DiscretizedLogisticMixture

def _dlm_ref_probs(params, num_classes, min_log_scale=-7.0):
  """p[N, C] in float64, straight from the logistic CDF F = expit."""
  params = np.asarray(params, np.float64)
  k = params.shape[-1] // 3
  w = special.softmax(params[:, :k], axis=-1)
  mu = params[:, None, k:2 * k]
  s = np.exp(np.maximum(params[:, None, 2 * k:], min_log_scale))
  h = 1.0 / (num_classes - 1)
  y = (2 * h * np.arange(num_classes) - 1)[None, :, None]
  a, b = (y + h - mu) / s, (y - h - mu) / s  # [N, C, K]
  # F(a) - F(b) == F(-b) - F(-a); use the side where both terms are < 1/2 so
  # the tail masses do not cancel to 0 in float64.
  mass = np.where(a + b < 0, special.expit(a) - special.expit(b),
                  special.expit(-b) - special.expit(-a))
  # For huge scales the bin is narrow in z = (y - mu) / s and even float64 CDF
  # differences cancel; there integrate the density F' = F(z) F(-z) instead
  # (8-point Gauss-Legendre, exact to float64 for a bin narrower than 1/2).
  nodes, weights = np.polynomial.legendre.leggauss(8)
  z = (a + b)[..., None] / 2 + (a - b)[..., None] / 2 * nodes
  quad = (a - b) / 2 * ((special.expit(z) * special.expit(-z)) @ weights)
  mass = np.where(a - b < 0.5, quad, mass)
  mass[:, 0] = special.expit(a[:, 0])
  mass[:, -1] = special.expit(-b[:, -1])
  return np.einsum("nk,nck->nc", w, mass)


def _dlm_params(seed, n, k=3):
  """Random rows plus extreme ones: far-out means, tiny (clamped) and huge scales."""
  rng = np.random.default_rng(seed)
  rand = np.concatenate([2 * rng.standard_normal((n, k)), rng.uniform(-1.5, 1.5, (n, k)),
                         rng.uniform(-9, 3, (n, k))], axis=-1)
  means, log_s = np.meshgrid([-50, -3, -1, -0.99, 0, 0.5, 1, 3, 50],
                             [-20, -7, -4, -1, 0, 2, 5, 30, 100])
  m = means.size
  extreme = np.concatenate([rng.standard_normal((m, k)), np.repeat(means.reshape(-1, 1), k, 1),
                            np.repeat(log_s.reshape(-1, 1), k, 1)], axis=-1)
  extreme[:, k + 1] *= -1  # components on both sides
  return np.concatenate([rand, extreme]).astype(np.float32)


@pytest.mark.parametrize("num_classes", [16, 256])
def test_dlm_masses_sum_to_one_and_match_reference(num_classes):
  dist = D.DiscretizedLogisticMixture(3, num_classes)
  assert dist.num_params == 9 and dist.is_discrete and dist.num_classes == num_classes
  params = _dlm_params(0, 48)
  logp = np.asarray(dist.class_log_probs(jnp.asarray(params)), np.float64)
  assert logp.shape == (params.shape[0], num_classes) and np.isfinite(logp).all()
  np.testing.assert_allclose(np.exp(logp).sum(-1), 1.0, atol=1e-5)
  ref = _dlm_ref_probs(params, num_classes)
  # A float32 bin edge is off by up to ~6e-8, which moves the CDF by up to
  # 6e-8 / (4 s): 1.6e-5 at the clamped scale e^-7. Allow that per row.
  min_scale = np.exp(np.maximum(params[:, 6:].min(-1, keepdims=True), -7.0), dtype=np.float64)
  np.testing.assert_array_less(np.abs(np.exp(logp) - ref),
                                np.broadcast_to(1e-6 + 1.5e-8 / min_scale, ref.shape))
  ok = ref > 1e-300
  assert ok.mean() > 0.5  # the log-space comparison covers most entries...
  np.testing.assert_allclose(logp[ok], np.log(ref[ok]), rtol=1e-5, atol=1e-4)
  assert (logp[~ok] < np.log(1e-300)).all()  # ...and the rest underflowed in float64.


def test_dlm_edge_bins_take_the_tails():
  c = 256
  h = 1.0 / (c - 1)
  dist = D.DiscretizedLogisticMixture(1, c)
  # Mean at the first bin centre: class 0 holds the whole left tail, F(h / s).
  for log_s in (-3.0, 0.0):
    lp = dist.log_prob(jnp.array([[0.0, -1.0, log_s]] * 2), jnp.array([0, c - 1]))
    want = [np.log(special.expit(h / np.exp(log_s))),
            np.log(special.expit(-(2 - h) / np.exp(log_s)))]
    np.testing.assert_allclose(lp, want, rtol=1e-5)
  # Means beyond the range put (almost) all the mass on the edge classes.
  lp = dist.log_prob(jnp.array([[0.0, -5.0, -4.0], [0.0, 5.0, -4.0]]), jnp.array([0, c - 1]))
  np.testing.assert_allclose(lp, [0.0, 0.0], atol=1e-6)


def test_dlm_mirror_symmetry_in_the_tails():
  # p(c; mu, s) == p(C-1-c; -mu, s): checks the right tail as tightly as the left.
  dist = D.DiscretizedLogisticMixture(1, 256)
  x = jnp.arange(256)
  params = jnp.broadcast_to(jnp.array([0.0, 0.3, -7.0]), (256, 3))
  lp = dist.log_prob(params, x)
  lp_mirror = dist.log_prob(params.at[:, 1].multiply(-1.0), 255 - x)
  assert lp.min() < -500  # far tails really are exercised
  np.testing.assert_allclose(lp, lp_mirror, rtol=1e-5)


def test_dlm_params_layout_and_scale_clamp():
  dist1 = D.DiscretizedLogisticMixture(1, 16)
  x = jnp.arange(16)
  # [logit_weights, means, log_scales]: a dominant 2nd weight selects the 2nd
  # mean and 2nd log-scale.
  mix = jnp.broadcast_to(jnp.array([-40.0, 40.0, -40.0, 0.9, -0.2, 0.4, 2.0, -1.5, 0.5]), (16, 9))
  single = jnp.broadcast_to(jnp.array([0.0, -0.2, -1.5]), (16, 3))
  np.testing.assert_allclose(D.DiscretizedLogisticMixture(3, 16).log_prob(mix, x),
                             dist1.log_prob(single, x), rtol=1e-5, atol=1e-6)
  # log_scales below min_log_scale act as min_log_scale.
  tiny, clamp = single.at[:, 2].set(-30.0), single.at[:, 2].set(-7.0)
  np.testing.assert_array_equal(dist1.log_prob(tiny, x), dist1.log_prob(clamp, x))
  dist3 = D.DiscretizedLogisticMixture(1, 16, min_log_scale=-3.0)
  np.testing.assert_array_equal(dist3.log_prob(tiny, x), dist1.log_prob(single.at[:, 2].set(-3.0), x))


def test_dlm_gradients_are_finite_at_extremes():
  dist = D.DiscretizedLogisticMixture(3, 256)
  params = jnp.asarray(_dlm_params(1, 8))
  x = jnp.asarray(np.random.default_rng(1).integers(0, 256, params.shape[0]))
  grad = jax.grad(lambda p: dist.log_prob(p, x).sum())(params)
  assert np.isfinite(np.asarray(grad)).all()


def test_dlm_bad_inputs():
  dist = D.DiscretizedLogisticMixture(2, 16)
  with pytest.raises(ValueError, match="integer dtype"):
    dist.log_prob(jnp.zeros((3, 6)), jnp.zeros(3))
  got = dist.log_prob(jnp.zeros((3, 6)), jnp.array([-1, 15, 16]))
  np.testing.assert_array_equal(np.isnan(got), [True, False, True])
  for bad_arg, kwargs in [("num_mixtures", {"num_mixtures": 0}),
                          ("num_classes", {"num_mixtures": 2, "num_classes": 1}),
                          ("min_log_scale", {"num_mixtures": 2, "min_log_scale": float("inf")})]:
    with pytest.raises(ValueError, match=bad_arg):
      D.DiscretizedLogisticMixture(**kwargs)


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_dlm_sample_frequencies(temperature):
  dist = D.DiscretizedLogisticMixture(3, 16)
  params = np.array([0.3, -0.5, 1.0, -0.9, 0.1, 0.8, -1.5, -2.5, -1.0], np.float32)
  draws = dist_testlib.draw(dist, jax.random.key(2), jnp.asarray(params), dist_testlib.N_DRAWS, temperature)
  assert draws.dtype == jnp.int32
  # At temperature T the sampler draws from the mixture with weights
  # softmax(w / T) and scales s * T (no clamp is hit here).
  k = 3
  tempered = params.astype(np.float64).copy()
  tempered[:k] /= temperature
  tempered[2 * k:] += np.log(temperature)
  want = _dlm_ref_probs(tempered[None], 16)[0]
  assert dist_testlib.tv(draws, want) < dist_testlib.tv_bound(dist_testlib.N_DRAWS, 16)
  got_probs = np.exp(np.asarray(dist.class_log_probs(jnp.asarray(tempered, jnp.float32)[None])[0]))
  np.testing.assert_allclose(got_probs, want, atol=1e-6)


def test_dlm_low_temperature_gives_rounded_mean_of_top_component():
  dist = D.DiscretizedLogisticMixture(2, 256)
  params = jnp.array([0.0, 1.0, 0.2, -0.37, -1.0, -1.0])
  draws = dist_testlib.draw(dist, jax.random.key(3), params, 1000, 1e-4)
  np.testing.assert_array_equal(draws, round((-0.37 + 1) * 127.5))


def test_dlm_mean_matches_reference():
  dist = D.DiscretizedLogisticMixture(3, 256)
  params = _dlm_params(2, 6)[:6]
  want = _dlm_ref_probs(params, 256) @ np.arange(256)
  np.testing.assert_allclose(dist.mean(jnp.asarray(params)), want, rtol=1e-4, atol=1e-3)


# ------------------------------------------------------- MixtureOfGaussians

def _mog_params():
  return np.array([0.5, -1.0, 0.2, -3.0, 0.0, 4.0, -2.0, 0.0, 1.0], np.float32)


def _mog_ref_log_prob(params, x, family):
  params = np.asarray(params, np.float64)
  k = params.shape[-1] // 3
  logw = special.log_softmax(params[..., :k], axis=-1)
  law = stats.norm if family == "gaussian" else stats.laplace
  comp = law.logpdf(x[..., None], loc=params[..., k:2 * k], scale=np.exp(params[..., 2 * k:]))
  return special.logsumexp(logw + comp, axis=-1)


@pytest.mark.parametrize("family", ["gaussian", "laplace"])
def test_mog_log_prob_matches_scipy(family):
  rng = np.random.default_rng(4)
  params = np.concatenate([2 * rng.standard_normal((64, 3)), 3 * rng.standard_normal((64, 3)),
                           rng.uniform(-3, 2, (64, 3))], axis=-1).astype(np.float32)
  x = (4 * rng.standard_normal(64)).astype(np.float32)
  got = D.MixtureOfGaussians(3, family).log_prob(jnp.asarray(params), jnp.asarray(x))
  np.testing.assert_allclose(got, _mog_ref_log_prob(params, x, family), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", ["gaussian", "laplace"])
def test_mog_density_integrates_to_one(family):
  grid = np.linspace(-80.0, 80.0, 800_001)  # step 2e-4, vs the smallest scale 0.135
  params = jnp.broadcast_to(jnp.asarray(_mog_params()), (grid.size, 9))
  logp = D.MixtureOfGaussians(3, family).log_prob(params, jnp.asarray(grid, jnp.float32))
  np.testing.assert_allclose(np.trapezoid(np.exp(np.asarray(logp, np.float64)), grid), 1.0,
                             atol=2e-5)


@pytest.mark.parametrize("family,temperature",
                         [("gaussian", 1.0), ("laplace", 1.0), ("gaussian", 0.5)])
def test_mog_sample_moments(family, temperature):
  dist = D.MixtureOfGaussians(3, family)
  params = _mog_params()
  draws = np.asarray(dist_testlib.draw(dist, jax.random.key(5), jnp.asarray(params), dist_testlib.N_DRAWS, temperature),
                     np.float64)
  assert draws.shape == (dist_testlib.N_DRAWS,) and np.isfinite(draws).all()
  # Temperature T: weights softmax(w / T), component scales s * T.
  w = special.softmax(params[:3].astype(np.float64) / temperature)
  mu = params[3:6].astype(np.float64)
  var_k = (temperature * np.exp(params[6:].astype(np.float64))) ** 2
  var_k *= 1.0 if family == "gaussian" else 2.0  # Laplace(b) has variance 2 b^2
  mean = w @ mu
  var = w @ (var_k + mu ** 2) - mean ** 2
  centred2 = (draws - mean) ** 2
  assert abs(draws.mean() - mean) < 5 * math.sqrt(var / dist_testlib.N_DRAWS)
  assert abs(centred2.mean() - var) < 5 * centred2.std() / math.sqrt(dist_testlib.N_DRAWS)


def test_mog_attributes_and_bad_inputs():
  dist = D.MixtureOfGaussians(4)
  assert not dist.is_discrete and dist.num_classes is None and dist.num_params == 12
  assert dist.family == "gaussian"
  with pytest.raises(ValueError, match="family"):
    D.MixtureOfGaussians(2, "cauchy")
  with pytest.raises(ValueError, match="num_components"):
    D.MixtureOfGaussians(0)
  np.testing.assert_allclose(D.MixtureOfGaussians(3).mean(jnp.asarray(_mog_params())[None]),
                             [special.softmax(_mog_params()[:3]) @ _mog_params()[3:6]], rtol=1e-5)


def test_mog_far_tail_is_finite():
  params = jnp.array([[0.0, 0.0, -7.0], [0.0, 0.0, -7.0]])
  for family in ("gaussian", "laplace"):
    got = D.MixtureOfGaussians(1, family).log_prob(params, jnp.array([1e4, -1e4]))
    assert np.isfinite(np.asarray(got)).all() and (np.asarray(got) < -1e6).all()

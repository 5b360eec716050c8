"""DeepNADE: what the conformance suite does not cover.

The suite already checks causality, normalization (every ordering and the
ensemble), samplers and the cached step. Here: the exact conditionals against
a float64 numpy reference network built with explicit masks, exact
unbiasedness of the order-agnostic objective (enumerating every (d, subset)),
the training-mask distribution, the ensemble formula and hparam errors.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from ar_jax import models
from ar_jax.models import deepnade

import testlib


def _perturbed(model, seed=0, scale=0.7):
  """N(0, scale^2) variables of the model's param shapes (nothing compiled)."""
  return testlib.perturbed(model, seed=seed, scale=scale, around=0.0)


def _ref_cond_log_probs(model, variables, x_BxD, m_BxD):
  """log p(x_j | x_S) [B, D]: the net on concat(features * m, m), in float64."""
  p = {k: np.asarray(v, np.float64) for k, v in variables["params"].items()}
  k, d = model.num_classes, model.num_dims
  m = np.asarray(m_BxD, np.float64)
  f = np.eye(k)[x_BxD][..., 1:] * m[..., None]
  inp = np.concatenate([f.reshape(len(x_BxD), -1), m], axis=1)
  w1 = np.concatenate([p["input_kernel"], p["observed_kernel"]], axis=0)
  h = np.maximum(inp @ w1 + p["bias_0"], 0)
  for i in range(1, len(model.hidden_sizes)):
    h = np.maximum(h @ p[f"kernel_{i}"] + p[f"bias_{i}"], 0)
  out = (h @ p["out_kernel"] + p["out_bias"]).reshape(len(x_BxD), d, -1)
  if k == 2:
    return -np.logaddexp(0, -(2 * x_BxD - 1) * out[..., 0])
  return np.take_along_axis(special.log_softmax(out, -1), x_BxD[..., None], -1)[..., 0]


def _ref_log_prob(model, variables, x_BxD, order):
  """Chain rule along `order`: step t observes exactly the dims order[:t]."""
  total = np.zeros(len(x_BxD))
  for t, j in enumerate(order):
    m = np.zeros(x_BxD.shape, bool)
    m[:, list(order[:t])] = True
    total += _ref_cond_log_probs(model, variables, x_BxD, m)[:, j]
  return total


def _data(model, n, seed=1):
  return np.random.default_rng(seed).integers(0, model.num_classes, (n, model.num_dims))


@pytest.mark.parametrize("k", [2, 3])
def test_exact_conditionals_match_masked_reference(k):
  model = deepnade.DeepNADE(input_shape=(5,), num_classes=k, hidden_sizes=(7, 6),
                            num_orderings=3, ordering="reversed")
  variables = _perturbed(model)
  x = _data(model, 6)
  lp = jax.jit(lambda v, x, m: model.apply(v, x, order_index=m, method="log_prob"))
  for m, order in enumerate(model.orderings()):
    np.testing.assert_allclose(np.asarray(lp(variables, jnp.asarray(x), m)),
                               _ref_log_prob(model, variables, x, order), rtol=1e-5, atol=1e-5)
  # The one-pass path (training) is the same net on any observed subset.
  obs = np.random.default_rng(2).random(x.shape) < 0.5
  got = model.apply(variables, jnp.asarray(x), jnp.asarray(obs), method="conditional_log_probs")
  np.testing.assert_allclose(np.asarray(got), _ref_cond_log_probs(model, variables, x, obs),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k", [2, 3])
def test_objective_is_exactly_unbiased_for_the_mean_over_orderings(k):
  d = 4
  model = deepnade.DeepNADE(input_shape=(d,), num_classes=k, hidden_sizes=(6, 5))
  variables = _perturbed(model, seed=k)
  x = _data(model, 3, seed=k)
  target = np.mean([_ref_log_prob(model, variables, x, o)
                    for o in itertools.permutations(range(d))], axis=0)
  # Every (d, S) with its probability 1/D * 1/C(D, |S|), in one batched call.
  subsets = [s for s in itertools.product([False, True], repeat=d) if not all(s)]
  obs = np.repeat(np.array(subsets), len(x), axis=0)
  xs = np.tile(x, (len(subsets), 1))
  lp = np.asarray(model.apply(variables, jnp.asarray(xs), jnp.asarray(obs),
                              method="conditional_log_probs"), np.float64)
  size = obs.sum(1)
  estimate = d / (d - size) * np.where(obs, 0.0, lp).sum(1)
  weight = 1.0 / (d * np.array([math.comb(d, int(s)) for s in size]))
  expected = (weight * estimate).reshape(len(subsets), len(x)).sum(0)
  np.testing.assert_allclose(expected, target, rtol=1e-5, atol=1e-5)


def test_train_log_prob_uses_sampled_masks_with_the_right_law():
  d, n = 4, 20000
  model = deepnade.DeepNADE(input_shape=(d,), hidden_sizes=(6,))
  variables = _perturbed(model)
  key = jax.random.key(5)
  x = jnp.asarray(_data(model, 8))
  # train_log_prob = the estimator on the masks sample_observed draws for its key.
  obs, d_b = deepnade.sample_observed(key, 8, d)
  np.testing.assert_array_equal(np.asarray(obs).sum(1), np.asarray(d_b))
  lp = np.asarray(model.apply(variables, x, obs, method="conditional_log_probs"))
  want = d / (d - np.asarray(d_b)) * np.where(np.asarray(obs), 0.0, lp).sum(1)
  got = model.apply(variables, x, key, method="train_log_prob")
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6)
  # Law of the masks: P(S) = 1 / (D * C(D, |S|)) for |S| < D.
  obs = np.asarray(jax.jit(deepnade.sample_observed, static_argnums=(1, 2))(key, n, d)[0])
  codes = obs @ (2 ** np.arange(d))
  freq = np.bincount(codes, minlength=2 ** d) / n
  sizes = np.array([bin(c).count("1") for c in range(2 ** d)])
  p = np.where(sizes < d, 1.0 / (d * np.array([math.comb(d, s) for s in sizes])), 0.0)
  assert freq[-1] == 0  # Never everything observed.
  bound = 3 * 0.5 * np.sum(np.sqrt(2 / np.pi * p * (1 - p) / n))
  assert 0.5 * np.abs(freq - p).sum() < bound


def test_ensemble_is_logsumexp_over_pool():
  model = models.get("deepnade", input_shape=(6,), hidden_sizes=(5,), num_orderings=4,
                     ordering="random", seed=2)
  orders = model.orderings()
  assert orders.shape == (4, 6)
  np.testing.assert_array_equal(orders[0], np.random.default_rng(2).permutation(6))
  assert len({tuple(o) for o in orders}) == 4  # Entry 0 not repeated by the pool.
  variables = _perturbed(model)
  x = jnp.asarray(_data(model, 5))
  per = np.stack([np.asarray(model.apply(variables, x, order_index=m, method="log_prob"))
                  for m in range(4)])
  ens = jax.jit(lambda v, x: model.apply(v, x, method="log_prob"))(variables, x)
  np.testing.assert_allclose(np.asarray(ens), special.logsumexp(per, 0) - np.log(4),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("hp,match", [
    ({"num_orderings": 0}, r"num_orderings must be an int >= 1, got 0"),
    ({"num_orderings": 2.0}, r"num_orderings must be an int >= 1, got 2\.0"),
    ({"num_orderings": True}, r"num_orderings must be an int >= 1, got True"),
    ({"hidden_sizes": ()}, r"hidden_sizes must be a non-empty sequence of ints >= 1, got \(\)"),
    ({"hidden_sizes": (4, 0)}, r"hidden_sizes .* got \(4, 0\)"),
    ({"hidden_sizes": 8}, r"hidden_sizes must be a non-empty sequence of ints >= 1, got 8"),
    ({"ordering": (0, 1, 1)}, r"permutation of range\(3\)"),
    ({"ordering": "sorted"}, r"'sorted'"),
])
def test_bad_hparams_fail_naming_the_value(hp, match):
  with pytest.raises(ValueError, match=match):
    models.get("deepnade", input_shape=(3,), **hp)


def test_bad_inputs_fail():
  model = deepnade.DeepNADE(input_shape=(3,), hidden_sizes=(4,))
  variables = _perturbed(model)
  x = jnp.zeros((2, 3), jnp.int32)
  with pytest.raises(ValueError, match=r"observed must have shape \(2, 3\), got \(2, 4\)"):
    model.apply(variables, x, jnp.zeros((2, 4), bool), method="conditional_log_probs")
  with pytest.raises(ValueError, match="unconditional"):
    model.apply(variables, x, cond=x, method="log_prob")

"""Conformance suite: every registered model, every declared variant.

A model added to `ar_jax.models._REGISTRY` is covered here without new tests:
- causality by gradients (d params_i / d x_j == 0 unless j precedes i, and
  != 0 for some preceding j), for every ordering of the model;
- exact normalization (enumerate every input of a tiny model; real-valued
  models: integrate the 2-D density on a grid);
- sampler frequencies against exp(log_prob) (moments for real-valued models);
- cached sampler == naive sampler for the same key (when a cache exists);
- completion keeps the given dims and samples the others from the model's
  conditional given them;
- masks are not trained: judged on what `jax.grad` differentiates (every leaf
  of `variables`), not on parameter names;
- jit == no jit; shapes.
The checks live in `tests/testlib.py`; `tests/test_testlib.py` shows that each
one catches a deliberately broken model.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import models
from ar_jax import sampling

import testlib


CASES = [pytest.param(name, hp, id=i)
         for name, hp, i in testlib.conformance_cases(perturbation=True)]


def _build(name, hp):
  """Model + randomly perturbed variables (so no init symmetry hides a bug).

  `hp` holds the case's hyperparameters and its "perturbation": the
  `testlib.perturbed` keyword arguments (tests/conformance_cases.py).
  """
  hp = dict(hp)
  noise = hp.pop("perturbation")
  model = models.get(name, **hp)
  return model, testlib.perturbed(model, **noise)


def _order_kwargs(model, m):
  return {"order_index": m} if model.num_orderings > 1 else {}


@pytest.mark.parametrize("name,hp", CASES)
def test_causality_by_gradients(name, hp):
  model, variables = _build(name, hp)
  testlib.assert_causal(model, variables)


@pytest.mark.parametrize("name,hp", CASES)
def test_exact_normalization(name, hp):
  model, variables = _build(name, hp)
  if not model.is_discrete:
    model, variables = _build(name, {**hp, "input_shape": (2,)})
    total = _integrate_2d(model, variables)[0]
    np.testing.assert_allclose(total, 1.0, atol=2e-3)
    return
  x = testlib.all_inputs(model)
  indices = [None] + list(range(model.num_orderings)) if model.num_orderings > 1 else [None]
  for m in indices:
    kw = {} if m is None else {"order_index": m}
    lp = model.apply(variables, x, method="log_prob", **kw)
    chex.assert_shape(lp, (x.shape[0],))
    total = float(jnp.exp(jax.nn.logsumexp(lp)))
    assert abs(total - 1.0) < 1e-4, f"order_index={m}: sum p(x) = {total}"


def _integrate_2d(model, variables, half_width=12.0, n=801):
  g = np.linspace(-half_width, half_width, n)
  xx, yy = np.meshgrid(g, g, indexing="ij")
  pts = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], 1), jnp.float32)
  dens = np.exp(np.asarray(model.apply(variables, pts, method="log_prob"), np.float64))
  w = (g[1] - g[0]) ** 2
  total = dens.sum() * w
  mean = (dens[:, None] * np.asarray(pts, np.float64)).sum(0) * w / total
  second = (dens[:, None] * np.asarray(pts, np.float64) ** 2).sum(0) * w / total
  return total, mean, second - mean ** 2


@pytest.mark.parametrize("name,hp", CASES)
def test_sampler_matches_log_prob(name, hp):
  model, variables = _build(name, hp)
  n = 20000
  if not model.is_discrete:
    model, variables = _build(name, {**hp, "input_shape": (2,)})
    _, mean, var = _integrate_2d(model, variables)
    s = np.asarray(ar_jax.sample(model, variables, jax.random.key(3), n), np.float64)
    se = np.sqrt(var / n)
    np.testing.assert_array_less(np.abs(s.mean(0) - mean), 5 * se)
    np.testing.assert_allclose(s.var(0), var, rtol=0.1)
    return
  x = testlib.all_inputs(model)
  p = np.exp(np.asarray(model.apply(variables, x, method="log_prob"), np.float64))
  s = np.asarray(ar_jax.sample(model, variables, jax.random.key(3), n))
  chex.assert_shape(s, (n,) + tuple(model.input_shape))
  assert s.dtype == np.int32
  k, d = model.num_classes, model.num_dims
  freq = np.bincount(testlib.input_codes(s, k), minlength=k ** d) / n
  tv = 0.5 * np.abs(freq - p).sum()
  # Expected TV under correct sampling is ~0.5 * sum sqrt(2/pi * p(1-p)/n); allow 3x.
  bound = 3 * 0.5 * np.sum(np.sqrt(2 / np.pi * p * (1 - p) / n))
  assert tv < bound, f"TV(samples, exp(log_prob)) = {tv:.4f} > {bound:.4f}"


@pytest.mark.parametrize("name,hp", CASES)
def test_cached_sampler_equals_naive(name, hp):
  model, variables = _build(name, hp)
  if not sampling.has_cache(model):
    pytest.skip(f"{name} has no cached sampler (naive sampler only)")
  key = jax.random.key(11)
  fast = ar_jax.sample(model, variables, key, 64, use_cache=True)
  slow = ar_jax.sample(model, variables, key, 64, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))


@pytest.mark.parametrize("name,hp", CASES)
def test_completion_keeps_known_dims(name, hp):
  model, variables = _build(name, hp)
  x_init = testlib.example_input(model, 8, seed=5)
  known = np.zeros(model.input_shape, bool).reshape(-1)
  known[model.orderings()[0][: model.num_dims // 2]] = True  # the first half in the ordering
  known = known.reshape(model.input_shape)
  out = ar_jax.sample(model, variables, jax.random.key(2), 8, x_init=x_init, known=known)
  np.testing.assert_array_equal(np.asarray(out)[:, known], np.asarray(x_init)[:, known])


@pytest.mark.parametrize("name,hp", CASES)
def test_completion_samples_given_the_known_dims(name, hp):
  model, variables = _build(name, hp)
  testlib.assert_completion_conditions(model, variables)


@pytest.mark.parametrize("name,hp", CASES)
def test_dim_log_probs_are_the_terms_of_log_prob(name, hp):
  model, variables = _build(name, hp)
  x = testlib.example_input(model, 4)
  if model.num_orderings > 1:  # an ensemble's likelihood has no per-dim terms
    with pytest.raises(ValueError, match="orderings"):
      model.apply(variables, x, method="dim_log_probs")
    return
  terms = model.apply(variables, x, method="dim_log_probs")
  chex.assert_shape(terms, (4,) + tuple(model.input_shape))
  np.testing.assert_allclose(np.asarray(terms).reshape(4, -1).sum(-1),
                             np.asarray(model.apply(variables, x, method="log_prob")),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,hp", CASES)
def test_params_only_and_masks_not_trained(name, hp):
  model, variables = _build(name, hp)
  x = testlib.example_input(model, 4)
  testlib.assert_masks_not_trained(model, variables, x, jax.random.key(0))


@pytest.mark.parametrize("name,hp", CASES)
def test_jit_matches_no_jit_and_shapes(name, hp):
  model, variables = _build(name, hp)
  x = testlib.example_input(model, 4)
  lp = model.apply(variables, x, method="log_prob")
  lp_jit = jax.jit(lambda v, x: model.apply(v, x, method="log_prob"))(variables, x)
  chex.assert_shape(lp, (4,))
  chex.assert_tree_all_finite(lp)
  np.testing.assert_allclose(np.asarray(lp), np.asarray(lp_jit), rtol=1e-5, atol=1e-5)
  params = model.apply(variables, x, **_order_kwargs(model, 0))
  chex.assert_shape(params, (4,) + tuple(model.input_shape) + (model.distribution.num_params,))
  assert np.all(np.asarray(lp) <= 1e-6) or not model.is_discrete  # discrete: p(x) <= 1
  wrong = jnp.zeros((4,) + tuple(model.input_shape) + (1, 1), x.dtype)
  with pytest.raises(ValueError, match="shape"):
    model.apply(variables, wrong, method="log_prob")


def test_registry_lists_and_rejects():
  assert {"fvsbn", "made"} <= set(models.names())
  with pytest.raises(KeyError, match="registered models"):
    models.get("no_such_model", input_shape=(3,))
  with pytest.raises(TypeError, match="hidden_sizez"):
    models.get("made", input_shape=(3,), hidden_sizez=(4,))


def test_registered_model_without_cases_fails_loudly(register_model):
  from ar_jax.models.made import MADE  # pylint: disable=import-outside-toplevel
  register_model("made_without_cases", MADE)
  with pytest.raises(LookupError, match=r"made_without_cases.*tests/conformance_cases\.py"):
    testlib.conformance_cases()

"""NADE and RNADE: brute-force likelihoods, normalization, causality, samplers.

The brute-force references recompute every hidden vector h_i from scratch out
of x_<i with a Python loop (no running sum), in float64 numpy.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

import ar_jax
from ar_jax.models.nade import NADE
from ar_jax.models.rnade import RNADE

import testlib


def _rand(seed, *shape):
  """Standard normal float32 draws from numpy: no PRNG kernels to compile."""
  return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


def _perturbed(model, seed=0, scale=0.5):
  """N(0, scale^2) variables of the model's param shapes; rho: 1 + that (nothing compiled)."""
  return testlib.perturbed(model, seed=seed, scale=scale, around={"rho": 1.0})


def _log_prob(model, variables, x):
  return jax.jit(lambda v, x: model.apply(v, x, method="log_prob"))(variables, x)


def _np_params(variables):
  return {k: np.asarray(v, np.float64) for k, v in variables["params"].items()}


# ---------------------------------------------------------------- NADE ----

def _nade_brute_log_prob(model, variables, x_BxD):
  """log p(x) with h_i = sigmoid(c + sum_{j before i} W_j f_j) rebuilt per i."""
  p = _np_params(variables)
  k, d = model.num_classes, model.num_dims
  f_BxDxF = np.eye(k)[x_BxD][..., 1:]
  W_HxDxF = p["W"].reshape(model.hidden_size, d, k - 1)
  order = model.orderings()[0]
  total = np.zeros(x_BxD.shape[0])
  for t, i in enumerate(order):
    a_BxH = np.broadcast_to(p["c"], (x_BxD.shape[0], model.hidden_size)).copy()
    for j in order[:t]:
      a_BxH += f_BxDxF[:, j] @ W_HxDxF[:, j].T
    out_BxP = special.expit(a_BxH) @ p["V"][i] + p["b"][i]
    if k == 2:
      total += np.where(x_BxD[:, i] == 1, -np.logaddexp(0, -out_BxP[:, 0]),
                        -np.logaddexp(0, out_BxP[:, 0]))
    else:
      total += special.log_softmax(out_BxP, axis=-1)[np.arange(len(x_BxD)), x_BxD[:, i]]
  return total


@pytest.mark.parametrize("k,impl", [(2, "scan"), (3, "scan"), (3, "cumsum")])
def test_nade_log_prob_matches_brute_force(k, impl):
  d = 7
  order = tuple(np.random.default_rng(k).permutation(d).tolist())
  model = NADE((d,), num_classes=k, hidden_size=5, ordering=order, impl=impl)
  x = jnp.asarray(np.random.default_rng(1).integers(0, k, (16, d)), jnp.int32)
  variables = _perturbed(model)
  got = np.asarray(_log_prob(model, variables, x))
  want = _nade_brute_log_prob(model, variables, np.asarray(x))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,k", [((6,), 2), ((2, 2), 3)])
def test_nade_exact_normalization(shape, k):
  model = NADE(shape, num_classes=k, hidden_size=6, ordering="random", seed=5)
  x = testlib.all_inputs(model)
  variables = _perturbed(model, seed=3, scale=1.0)
  lp = _log_prob(model, variables, x)
  assert abs(float(jnp.exp(jax.nn.logsumexp(lp))) - 1.0) < 1e-5


@pytest.mark.parametrize("k,impl", [(2, "scan"), (3, "scan"), (3, "cumsum")])
def test_nade_causality_by_gradients(k, impl):
  d = 6
  model = NADE((d,), num_classes=k, hidden_size=5, ordering=(2, 5, 0, 4, 1, 3), impl=impl)
  testlib.assert_causal(model, _perturbed(model))


@pytest.mark.parametrize("k,ordering", [(2, (3, 1, 4, 0, 2)), (3, (4, 0, 3, 2, 1))])
def test_nade_cached_sampler_equals_naive(k, ordering):
  model = NADE((5,), num_classes=k, hidden_size=6, ordering=ordering)
  variables = _perturbed(model, scale=1.0)
  key = jax.random.key(11)
  fast = ar_jax.sample(model, variables, key, 128, use_cache=True)
  slow = ar_jax.sample(model, variables, key, 128, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))


@pytest.mark.parametrize("model,batch", [
    # 1201 x 32 floats > one chunk: the scan runs in padded row chunks.
    (NADE((6,), num_classes=3, hidden_size=32, ordering="reversed"), 1201),
    (RNADE((4,), hidden_size=5, num_components=2, ordering="random", seed=1), 8),
    (RNADE((4,), hidden_size=5, num_components=2, activation="relu"), 8),
], ids=["nade-chunked", "rnade", "rnade-relu"])
def test_scan_vjp_matches_autodiff_of_cumsum(model, batch):
  """The hand-written backward pass (params incl. rho, and x) vs JAX autodiff."""
  if model.is_discrete:
    x = jax.nn.softmax(_rand(1, batch, *model.input_shape, 3), axis=-1)
  else:
    x = _rand(1, batch, *model.input_shape)
  variables = _perturbed(model)
  cotangent = _rand(2, batch, *model.input_shape, model.distribution.num_params)

  def grads(impl):
    m = model.clone(impl=impl)
    f = lambda v, x: (m.apply(v, x) * cotangent).sum()
    return jax.jit(jax.grad(f, argnums=(0, 1)))(variables, x)

  for a, b in zip(jax.tree.leaves(grads("scan")), jax.tree.leaves(grads("cumsum"))):
    assert float(jnp.abs(b).max()) > 0
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(jnp.abs(b).max()))


def test_nade_errors():
  with pytest.raises(ValueError, match="permutation"):
    NADE((3,), ordering=(0, 0, 1))
  model = NADE((3,), hidden_size=4)
  x = jnp.zeros((2, 3), jnp.int32)
  variables = _perturbed(model)
  with pytest.raises(ValueError, match="unconditional"):
    model.apply(variables, x, cond=jnp.zeros((2, 1)))
  with pytest.raises(ValueError, match="shape"):
    model.apply(variables, jnp.zeros((2, 4), jnp.int32))
  with pytest.raises(ValueError, match="impl"):
    model.clone(impl="loop").apply(variables, x)


# --------------------------------------------------------------- RNADE ----

def _rnade_brute_log_prob(model, variables, x_BxD):
  p = _np_params(variables)
  k = model.num_components
  order = model.orderings()[0]
  total = np.zeros(x_BxD.shape[0])
  for t, i in enumerate(order):
    a_BxH = np.tile(p["c"], (x_BxD.shape[0], 1))
    for j in order[:t]:
      a_BxH += x_BxD[:, [j]] * p["W"][:, j]
    z = p["rho"][i] * a_BxH
    h = special.expit(z) if model.activation == "sigmoid" else np.maximum(z, 0.0)
    out = h @ p["V"][i] + p["b"][i]
    logw, mu, log_s = out[:, :k], out[:, k:2 * k], out[:, 2 * k:]
    u = (x_BxD[:, [i]] - mu) / np.exp(log_s)
    if model.family == "gaussian":
      log_comp = -0.5 * u ** 2 - log_s - 0.5 * np.log(2 * np.pi)
    else:
      log_comp = -np.abs(u) - log_s - np.log(2.0)
    total += special.logsumexp(special.log_softmax(logw, axis=-1) + log_comp, axis=-1)
  return total


RNADE_VARIANTS = [
    dict(family="gaussian", activation="sigmoid"),
    dict(family="laplace", activation="relu", ordering="reversed"),
]


@pytest.mark.parametrize("hp,impl", [(hp, "scan") for hp in RNADE_VARIANTS] + [
    (RNADE_VARIANTS[1], "cumsum")])
def test_rnade_log_prob_matches_brute_force(hp, impl):
  model = RNADE((5,), hidden_size=6, num_components=3, impl=impl, **hp)
  x = _rand(1, 16, 5)
  variables = _perturbed(model)
  got = np.asarray(_log_prob(model, variables, x))
  want = _rnade_brute_log_prob(model, variables, np.asarray(x, np.float64))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def _grid_2d(model, variables, n=801, s=5.0):
  """Density on an n x n grid covering all of R^2, with quadrature weights.

  Midpoint rule in theta after x = s tan(theta), theta in (-pi/2, pi/2): the
  heavy tails of the Laplace and ReLU variants are inside the grid too (a
  [-80, 80]^2 box still misses ~5e-4 of the ReLU variant's mass).
  """
  th = -np.pi / 2 + (np.arange(n) + 0.5) * np.pi / n
  g, w = s * np.tan(th), s * (np.pi / n) / np.cos(th) ** 2
  pts = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
  lp = _log_prob(model, variables, jnp.asarray(pts, jnp.float32))
  return pts, np.exp(np.asarray(lp, np.float64)), np.outer(w, w).ravel()


@pytest.mark.parametrize("hp", RNADE_VARIANTS)
def test_rnade_integrates_to_one_2d(hp):
  model = RNADE((2,), hidden_size=6, num_components=3, **hp)
  variables = _perturbed(model, seed=4, scale=0.3)
  _, dens, w = _grid_2d(model, variables)
  # Measured quadrature error: ~1e-7 (gaussian), ~5e-5 (laplace: the kink of
  # |x - mu| slows the midpoint rule). 2e-4 still catches a wrong normalizer.
  assert abs((dens * w).sum() - 1.0) < 2e-4


def test_rnade_sampler_moments_match_density():
  model = RNADE((2,), hidden_size=6, num_components=3, ordering="reversed")
  variables = _perturbed(model, seed=4, scale=0.3)
  pts, dens, w = _grid_2d(model, variables)
  p = dens * w / (dens * w).sum()
  mean = p @ pts
  cen = pts - mean
  cov = (p[:, None, None] * cen[:, :, None] * cen[:, None, :]).sum(0)
  # Standard errors of the sample mean and covariance, from the grid moments.
  m4 = (p[:, None, None] * (cen[:, :, None] * cen[:, None, :]) ** 2).sum(0)
  n = 20000
  s = np.asarray(ar_jax.sample(model, variables, jax.random.key(3), n), np.float64)
  assert s.shape == (n, 2) and s.dtype == np.float64
  se_mean = np.sqrt(np.diag(cov) / n)
  se_cov = np.sqrt((m4 - cov ** 2) / n)
  assert (np.abs(s.mean(0) - mean) < 5 * se_mean).all(), (s.mean(0), mean)
  assert (np.abs(np.cov(s.T) - cov) < 5 * se_cov).all(), (np.cov(s.T), cov)


@pytest.mark.parametrize("activation,impl", [
    ("sigmoid", "scan"), ("relu", "scan"), ("sigmoid", "cumsum")])
def test_rnade_causality_by_gradients(activation, impl):
  d = 6
  model = RNADE((d,), hidden_size=5, num_components=2, ordering=(4, 1, 5, 0, 3, 2),
                activation=activation, impl=impl)
  testlib.assert_causal(model, _perturbed(model))


def test_rnade_cached_sampler_equals_naive():
  # The default variant's cached path is exercised by the moments test.
  model = RNADE((5,), hidden_size=6, num_components=3, **RNADE_VARIANTS[1])
  variables = _perturbed(model)
  key = jax.random.key(11)
  fast = ar_jax.sample(model, variables, key, 64, use_cache=True)
  slow = ar_jax.sample(model, variables, key, 64, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))


def test_rnade_rejects_integer_input():
  model = RNADE((3,), hidden_size=4, num_components=2)
  variables = _perturbed(model)
  with pytest.raises(ValueError, match="float"):
    model.apply(variables, jnp.zeros((1, 3), jnp.int32))

"""PixelCNN and Gated PixelCNN beyond the conformance suite.

The suite (tests/test_conformance.py) covers both on binary 3x3x1 and RGB
2x2x3 inputs. Here: the blind spot (from gradients), conditioning (label,
vector, spatial map), cached == naive sampling on 256-way and conditional
models and when completing, the default hyperparameters on tiny inputs.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import models

import testlib


def _dependencies(model, variables):
  """[D, D] bool: [i, j] iff the params of dim i have a nonzero gradient in x_j."""
  return np.asarray(testlib._dependencies(  # pylint: disable=protected-access
      model, variables, testlib.relaxed_input(model), False, jnp.int32(0)))


def test_blind_spot_plain_pixelcnn_vs_gated():
  shape = (5, 5, 1)  # dims are pixels: dim 5 i + j is pixel (i, j)
  gated = models.get("gated_pixelcnn", input_shape=shape, num_layers=3, channels=8,
                     head_channels=8)
  plain = models.get("pixelcnn", input_shape=shape, num_blocks=3, residual_channels=8,
                     head_channels=8)
  dep_g = _dependencies(gated, testlib.perturbed(gated))
  dep_p = _dependencies(plain, testlib.perturbed(plain))
  # Gated: every pixel's conditional, the last one's included, depends on every
  # earlier pixel (and on no later one: the suite checks that).
  for d in range(1, 25):
    missed = np.flatnonzero(~dep_g[d, :d])
    assert missed.size == 0, f"gated_pixelcnn: pixel {divmod(d, 5)} misses {missed.tolist()}"
  # Plain PixelCNN: its receptive field spans the whole 5x5 image (the corner
  # pixel sees every earlier pixel), yet pixel (4, 0) misses (3, 4), up and to
  # the right of it: no chain of masked 3x3 / 7x7 convs reaches it.
  assert dep_p[24, :24].all()
  assert np.flatnonzero(~dep_p[20, :20]).tolist() == [19]
  assert dep_g[20, 19]


# ---- conditioning ----

def _cond_model(**hp):
  return models.get("gated_pixelcnn", input_shape=(3, 3, 1), num_layers=1, channels=4,
                    head_channels=4, **hp)


def _noisy(variables, scale=0.5):
  """Every entry moved (testlib.perturbed cannot init a model that needs cond)."""
  leaves, tree = jax.tree.flatten(variables)
  keys = jax.random.split(jax.random.key(2), len(leaves))
  return jax.tree.unflatten(tree, [a + scale * jax.random.normal(k, a.shape)
                                   for a, k in zip(leaves, keys)])


def _cond_inputs(model, n, seed=0):
  rng = np.random.default_rng(seed)
  if model.cond_classes:
    return jnp.asarray(np.arange(n) % model.cond_classes, jnp.int32)
  shape = (n, model.cond_size) if model.cond_size else (n,) + tuple(model.cond_map_shape)
  return jnp.asarray(rng.standard_normal(shape), jnp.float32)


@pytest.mark.parametrize("hp", [{"cond_classes": 3}, {"cond_size": 2},
                                {"cond_map_shape": (2, 2, 2)}],
                         ids=["label", "vector", "map"])
def test_conditional_distributions_normalize_and_depend_on_cond(hp):
  model = _cond_model(**hp)
  x = testlib.all_inputs(model)  # 512 binary 3x3 images
  cond2 = _cond_inputs(model, 2, seed=1)
  variables = _noisy(model.init(jax.random.key(0), x[:2], cond=cond2))
  lps = []
  for k in range(2):
    cond = jnp.repeat(cond2[k:k + 1], x.shape[0], axis=0)
    lp = model.apply(variables, x, cond=cond, method="log_prob")
    np.testing.assert_allclose(float(jnp.exp(jax.nn.logsumexp(lp))), 1.0, atol=1e-4)
    lps.append(np.asarray(lp))
  # A different label / vector / map gives a different distribution.
  assert np.abs(lps[0] - lps[1]).max() > 1e-2


@pytest.mark.parametrize("hp", [{"cond_classes": 3}, {"cond_map_shape": (2, 2, 2)}],
                         ids=["label", "map"])
def test_conditional_cached_sampler_equals_naive(hp):
  model = _cond_model(**hp)
  n = 32
  cond = _cond_inputs(model, n)
  variables = _noisy(model.init(jax.random.key(0), jnp.zeros((n, 3, 3, 1), jnp.int32),
                                cond=cond))
  key = jax.random.key(4)
  fast = ar_jax.sample(model, variables, key, n, cond=cond, use_cache=True)
  slow = ar_jax.sample(model, variables, key, n, cond=cond, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))


def test_cond_is_refused_required_and_checked():
  x = jnp.zeros((2, 3, 3, 1), jnp.int32)
  for name, hp in (("pixelcnn", {"residual_channels": 2, "head_channels": 2}),
                   ("gated_pixelcnn", {"channels": 2, "head_channels": 2})):
    model = models.get(name, input_shape=(3, 3, 1), num_classes=2, **hp)
    variables = model.init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="unconditional"):
      model.apply(variables, x, cond=jnp.zeros((2,), jnp.int32), method="log_prob")
  model = _cond_model(cond_classes=3)
  variables = model.init(jax.random.key(0), x, cond=jnp.zeros((2,), jnp.int32))
  with pytest.raises(ValueError, match="is conditional: pass cond="):
    model.apply(variables, x, method="log_prob")
  with pytest.raises(ValueError, match=r"cond must be int labels \[B\]"):
    model.apply(variables, x, cond=jnp.zeros((2, 3)), method="log_prob")
  with pytest.raises(ValueError, match="cond label 3 of example 1 is outside"):
    model.apply(variables, x, cond=jnp.array([0, 3]), method="log_prob")
  with pytest.raises(ValueError, match="at most one of"):
    _cond_model(cond_classes=3, cond_size=2)
  with pytest.raises(ValueError, match="multiple of the image's 3 channel"):
    models.get("pixelcnn", input_shape=(2, 2, 3), residual_channels=4)


# ---- cached sampling ----

@pytest.mark.parametrize("name,shape,hp", [
    ("pixelcnn", (2, 3, 3), {"num_blocks": 2, "residual_channels": 6, "head_channels": 6}),
    ("gated_pixelcnn", (3, 3, 1), {"num_layers": 2, "channels": 4, "head_channels": 4}),
], ids=["pixelcnn-rgb", "gated-gray"])
def test_cached_sampler_equals_naive_256_way(name, shape, hp):
  model = models.get(name, input_shape=shape, num_classes=256, **hp)
  variables = testlib.perturbed(model, scale=0.5)
  key = jax.random.key(7)
  fast = np.asarray(ar_jax.sample(model, variables, key, 16, use_cache=True))
  slow = np.asarray(ar_jax.sample(model, variables, key, 16, use_cache=False))
  np.testing.assert_array_equal(fast, slow)
  assert len(np.unique(fast)) > 20  # really 256-way samples, not a constant


def test_completion_on_the_cached_path_equals_naive():
  model = models.get("gated_pixelcnn", input_shape=(3, 2, 3), num_layers=1, channels=3,
                     head_channels=3)
  variables = testlib.perturbed(model, scale=0.5)
  x_init = testlib.example_input(model, 32, seed=3)
  known = np.random.default_rng(0).random(model.input_shape) < 0.5
  key = jax.random.key(8)
  fast = np.asarray(ar_jax.sample(model, variables, key, 32, x_init=x_init, known=known))
  slow = np.asarray(ar_jax.sample(model, variables, key, 32, x_init=x_init, known=known,
                                  use_cache=False))
  np.testing.assert_array_equal(fast, slow)
  np.testing.assert_array_equal(fast[:, known], np.asarray(x_init)[:, known])


# Both models passed on both shapes; one shape each keeps the test time small
# (the default widths make every forward pass ~2M MACs per pixel).
@pytest.mark.parametrize("name,shape", [("pixelcnn", (2, 2, 3)), ("gated_pixelcnn", (3, 3, 1))])
def test_defaults_build_and_normalize_on_tiny_images(name, shape):
  model = models.get(name, input_shape=shape)  # default widths, depth and kernels
  x = testlib.all_inputs(model)
  variables = model.init(jax.random.key(0), x[:2])
  lp = jax.jit(lambda v, x: model.apply(v, x, method="log_prob"))(variables, x)
  np.testing.assert_allclose(float(jnp.exp(jax.nn.logsumexp(lp))), 1.0, atol=1e-4)

"""PixelCNN under any pixel order (`ordering=`): causality, the cache, shared params.

The conformance suite runs default-size PixelCNNs under s_curve and a random
permutation (tests/conformance_cases.py); these are the cheap checks on
tiny models: causality by gradients on 5x5, cached == naive under every
registered order, and the params and masks against the raster model.
"""

import jax
import numpy as np
import pytest

import ar_jax
from ar_jax import masks
from ar_jax import models

import testlib

TINY = {"num_blocks": 1, "residual_channels": 6, "head_channels": 6}
PERM_25 = tuple(np.random.default_rng(4).permutation(25).tolist())


@pytest.mark.parametrize("ordering", ["s_curve", "hilbert", PERM_25],
                         ids=["s_curve", "hilbert", "permutation"])
def test_causal_by_gradients_on_5x5(ordering):
  """No conditional depends on a pixel generated at or after it; each depends on
  some earlier one (testlib.assert_causal reads the order off model.orderings())."""
  model = models.get("pixelcnn", input_shape=(5, 5, 1), ordering=ordering, **TINY)
  order = model.orderings()[0]
  assert not np.array_equal(order, np.arange(25))
  np.testing.assert_array_equal(order, masks.get_ordering(ordering, (5, 5)))
  testlib.assert_causal(model, testlib.perturbed(model))


@pytest.mark.parametrize("ordering", ["s_curve", PERM_25], ids=["s_curve", "permutation"])
def test_causal_by_gradients_on_5x5_at_default_size(ordering):
  """The same at the default hyperparameters (15 blocks, 192-wide stream)."""
  model = models.get("pixelcnn", input_shape=(5, 5, 1), ordering=ordering)
  testlib.assert_causal(model, testlib.perturbed(model, scale=1.0, relative=True))


def test_causal_by_gradients_rgb():
  """RGB under the Hilbert order: channels R -> G -> B within each pixel."""
  model = models.get("pixelcnn", input_shape=(3, 3, 3), ordering="hilbert", **TINY)
  np.testing.assert_array_equal(model.orderings()[0],
                                masks.get_ordering("hilbert", (3, 3, 3)))
  testlib.assert_causal(model, testlib.perturbed(model))


@pytest.mark.parametrize("name", masks.ordering_names())
def test_cached_sampler_equals_naive_under_every_registered_order(name):
  model = models.get("pixelcnn", input_shape=(3, 4, 1), ordering=name, seed=5, **TINY)
  variables = testlib.perturbed(model, seed=1)
  key = jax.random.key(3)
  fast = ar_jax.sample(model, variables, key, 16, use_cache=True)
  slow = ar_jax.sample(model, variables, key, 16, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))


def test_cached_sampler_equals_naive_rgb_permutation():
  perm = tuple(np.random.default_rng(2).permutation(6).tolist())
  model = models.get("pixelcnn", input_shape=(2, 3, 3), ordering=perm, num_classes=4, **TINY)
  variables = testlib.perturbed(model, seed=2)
  key = jax.random.key(4)
  fast = ar_jax.sample(model, variables, key, 16, use_cache=True)
  slow = ar_jax.sample(model, variables, key, 16, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))
  assert len(np.unique(np.asarray(fast))) > 1  # the check is not on constant samples


def test_params_are_those_of_the_raster_model():
  raster = models.get("pixelcnn", input_shape=(4, 4, 3), **TINY)
  hilbert = models.get("pixelcnn", input_shape=(4, 4, 3), ordering="hilbert", **TINY)
  x = testlib.example_input(raster, 2)
  p_raster = raster.init(jax.random.key(0), x)
  p_hilbert = hilbert.init(jax.random.key(0), x)
  assert (jax.tree_util.tree_structure(p_raster)
          == jax.tree_util.tree_structure(p_hilbert))
  jax.tree.map(np.testing.assert_array_equal, p_raster, p_hilbert)
  # The raster model's weights run under another order.
  assert np.isfinite(np.asarray(hilbert.apply(p_raster, x, method="log_prob"))).all()


def test_mirrored_raster_order_is_the_mirrored_raster_model():
  """Rows top to bottom, each right to left, with left-right flipped conv kernels,
  on the mirrored image: the raster model's output, mirrored. Pins each local
  mask (and its channel groups) against `conv_mask`."""
  h, w = 4, 5
  mirrored = masks.symmetries("raster", (h, w))[2]
  raster = models.get("pixelcnn", input_shape=(h, w, 3), num_classes=3, **TINY)
  mirror = models.get("pixelcnn", input_shape=(h, w, 3), num_classes=3,
                      ordering=tuple(mirrored.tolist()), **TINY)
  variables = testlib.perturbed(raster)
  flipped = jax.tree_util.tree_map_with_path(
      lambda path, v: v[:, ::-1] if v.ndim == 4 else v, variables)
  x = testlib.example_input(raster, 3)
  want = raster.apply(variables, x)[:, :, ::-1]
  got = mirror.apply(flipped, x[:, :, ::-1])
  np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_explicit_raster_permutation_is_the_raster_model():
  default = models.get("pixelcnn", input_shape=(3, 3, 1), **TINY)
  explicit = models.get("pixelcnn", input_shape=(3, 3, 1), ordering=tuple(range(9)), **TINY)
  assert explicit.ordering == tuple(range(9))
  variables = testlib.perturbed(default)
  x = testlib.example_input(default, 2)
  np.testing.assert_array_equal(np.asarray(default.apply(variables, x)),
                                np.asarray(explicit.apply(variables, x)))


def test_bad_ordering_names_the_fix():
  with pytest.raises(ValueError, match=r"ordering=.*permutation of range\(9\)"):
    models.get("pixelcnn", input_shape=(3, 3, 1), ordering=tuple(range(27)))
  with pytest.raises(ValueError, match=r"PixelCNN: ordering='diagonal'.*s_curve"):
    models.get("pixelcnn", input_shape=(3, 3, 1), ordering="diagonal")
  with pytest.raises(ValueError, match=r"repeated"):
    models.get("pixelcnn", input_shape=(2, 2, 1), ordering=(0, 1, 1, 2))

"""PixelCNN++: what the conformance suite does not cover.

The suite (tests/test_conformance.py) runs `pixelcnn_pp` on binary 3x3x1 (also
with 3 classes) and binary RGB 2x2x3: normalization by enumeration,
causality by gradients, sampler frequencies, cached == naive, completion.
Here: the RGB coupling of the mixture, the cached sampler on 256 levels, odd
sizes and three resolutions, the default (paper-size) hyperparameters on the
smallest inputs, dropout, bad hyperparameters and the CIFAR-10 config.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import configs
from ar_jax import models

import testlib
import train_testlib

_CIFAR = os.path.join(os.path.dirname(__file__), "..", "experiments", "configs",
                      "pixelcnn_pp_cifar10.py")
_TINY = dict(num_filters=4, num_resnet=1, num_mixtures=2)


def test_green_mean_moves_with_red():
  """Channel 1's mixture means are linear in channel 0's value: slope tanh(coeff)."""
  model = models.get("pixelcnn_pp", input_shape=(2, 2, 3), num_levels=2, **_TINY)
  v = testlib.perturbed(model, seed=1)
  x = np.asarray(testlib.example_input(model, 1, seed=2))
  lo, hi = x.copy(), x.copy()
  lo[0, 1, 1, 0], hi[0, 1, 1, 0] = 10, 240  # R of the last pixel
  call = jax.jit(lambda x, method: model.apply(v, x, method=method), static_argnums=1)
  out_lo, out_hi = (np.asarray(call(jnp.asarray(a), "__call__")) for a in (lo, hi))
  k, c = 2, 3
  means = lambda out: out[0, 1, 1, :, k:2 * k]  # [C, K] channel_params means
  np.testing.assert_array_equal(means(out_lo)[0], means(out_hi)[0])  # R itself: unchanged
  pixel = np.asarray(call(jnp.asarray(lo), "pixel_params"))[0, 1, 1]
  coeff_g_r = np.tanh(pixel[k + 2 * c * k:k + 2 * c * k + k])  # pair (1, 0)
  dy = 2.0 * (240 - 10) / 255
  np.testing.assert_allclose(means(out_hi)[1] - means(out_lo)[1], coeff_g_r * dy, rtol=1e-4)
  assert np.all(np.abs(coeff_g_r) > 1e-3)  # the check above is not 0 == 0
  # Earlier pixels' outputs do not see this pixel at all.
  np.testing.assert_array_equal(out_lo[0, :, :1], out_hi[0, :, :1])


def test_cached_sampler_equals_naive_on_256_levels_odd_sizes_and_three_levels():
  shape = (3, 5, 3)  # Levels 3x5, 2x3, 1x2.
  model = models.get("pixelcnn_pp", input_shape=shape, num_levels=3, **_TINY)
  # Any variables must agree; shapes from `jax.eval_shape`: no init compile.
  v = testlib.perturbed(model, seed=3, around={"scale": 1.0})
  key = jax.random.key(4)
  fast = ar_jax.sample(model, v, key, 6, use_cache=True)
  slow = ar_jax.sample(model, v, key, 6, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))
  assert len(np.unique(np.asarray(fast))) > 10  # really 256-level draws
  # Completion on the cached path: the first half given.
  known = np.zeros(shape, bool).reshape(-1)
  known[: known.size // 2] = True
  known = known.reshape(shape)
  x_init = testlib.example_input(model, 6, seed=6)
  fast = ar_jax.sample(model, v, key, 6, x_init=x_init, known=known)
  slow = ar_jax.sample(model, v, key, 6, x_init=x_init, known=known, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))
  np.testing.assert_array_equal(np.asarray(fast)[:, known], np.asarray(x_init)[:, known])


def test_default_hyperparameters_on_the_smallest_rgb_input():
  """The paper's model (160 filters, 3 levels of 5 layers, 256 levels) is exact on 2x2x3.

  The costliest test here (two sampler compiles of a 60-convolution network);
  the tiny variants of the conformance suite cover the same code paths.
  """
  model = models.get("pixelcnn_pp", input_shape=(2, 2, 3))
  assert (model.num_filters, model.num_resnet, model.num_levels, model.num_mixtures,
          model.dropout) == (160, 5, 3, 10, 0.5)
  assert model.sizes == [(2, 2), (1, 1), (1, 1)]
  # Variables drawn around weight norm's unit scales with shapes from
  # `jax.eval_shape`: compiling `model.init` (189 random kernels, 54M
  # params) would cost more than both samplers; any variables must agree.
  v = testlib.perturbed(model, around={"scale": 1.0})
  key = jax.random.key(5)
  np.testing.assert_array_equal(np.asarray(ar_jax.sample(model, v, key, 2)),
                                np.asarray(ar_jax.sample(model, v, key, 2, use_cache=False)))


def test_dropout_only_in_train_log_prob():
  model = models.get("pixelcnn_pp", input_shape=(3, 3, 1), num_levels=2, dropout=0.5, **_TINY)
  v = testlib.perturbed(model, seed=0)
  x = testlib.example_input(model, 3)
  f = jax.jit(lambda k: model.apply(v, x, k, method="train_log_prob"))
  a, b, a2 = f(jax.random.key(0)), f(jax.random.key(1)), f(jax.random.key(0))
  np.testing.assert_array_equal(np.asarray(a), np.asarray(a2))
  assert np.all(np.asarray(a) != np.asarray(b))
  no_dropout = models.get("pixelcnn_pp", input_shape=(3, 3, 1), num_levels=2, dropout=0.0,
                          **_TINY)
  lp = np.asarray(jax.jit(lambda k: no_dropout.apply(v, x, k, method="train_log_prob"))(
      jax.random.key(0)))
  assert np.all(lp != np.asarray(a))


@pytest.mark.parametrize("bad,match", [
    (dict(input_shape=(4, 4)), "input_shape"),
    (dict(input_shape=(4, 4, 1), num_levels=0), "num_levels"),
    (dict(input_shape=(4, 4, 1), dropout=1.0), "dropout"),
])
def test_bad_hyperparameters_are_named(bad, match):
  with pytest.raises(ValueError, match=match):
    models.get("pixelcnn_pp", **bad)


def test_cifar10_config_trains_two_steps_on_a_local_stand_in(tmp_path):
  from ar_jax import train  # pylint: disable=import-outside-toplevel
  from test_train_data_kinds import _build_fake_cifar10  # pylint: disable=import-outside-toplevel
  data_dir = str(tmp_path / "data")
  _build_fake_cifar10(data_dir)
  # The :cpu model, smaller still, for two steps.
  c = train_testlib.two_step_run(configs.load(_CIFAR, "cpu"), num_filters=4, num_mixtures=2)
  assert c.model.hparams.input_shape == (32, 32, 3) and c.data.name == "cifar10"
  full = configs.load(_CIFAR)
  assert (full.model.hparams.num_filters, full.model.hparams.num_resnet) == (160, 5)
  # The stand-in has 24 train and 10 test images: split them like the real ones.
  c.data.data_dir = data_dir
  c.data.train_split, c.data.eval_split = "train[:16]", "train[16:]"
  c.eval.num_samples = 0  # A 32x32x3 sampler compile would dominate the test.
  results = train.train_and_evaluate(c, str(tmp_path / "run"))
  assert results["steps"] == 2 and results["test_examples"] == 10
  assert np.isfinite(results["test_nll"]) and 0 < results["test_bpd"] < 20

"""Transformer specifics beyond the conformance suite: the KV cache step by
step and with a prompt, dropout only in training, config errors, positions,
and AdamW's matrices-only weight decay."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import ar_jax
from ar_jax import configs
from ar_jax import models
from ar_jax import optim
from ar_jax.models import base
from ar_jax.models import transformer

import testlib

TINY = dict(num_layers=2, num_heads=2, width=8)


def test_cached_steps_reproduce_the_full_pass():
  """Feeding x one position at a time through cached_step gives __call__'s params."""
  model = models.get("transformer", input_shape=(2, 3, 1), num_classes=4, **TINY)
  variables = testlib.perturbed(model, seed=1)
  x = testlib.example_input(model, 3, seed=2)
  full = np.asarray(model.apply(variables, x)).reshape(3, 6, -1)
  x_flat = x.reshape(3, -1)
  cache = model.apply(variables, 3, method="init_cache")
  # One compiled step for the 6 positions (every CacheStep field is traced).
  cached_step = jax.jit(lambda c, s: model.apply(variables, c, s, method="cached_step"))
  for t in range(6):
    step = base.CacheStep(t=jnp.int32(t), dim=jnp.int32(t), prev_dim=jnp.int32(max(t - 1, 0)),
                          x_prev=x_flat[:, max(t - 1, 0)] * (t > 0), order_index=jnp.int32(0))
    params, cache = cached_step(cache, step)
    np.testing.assert_allclose(np.asarray(params), full[:, t], rtol=1e-5, atol=1e-5)
  assert cache[0]["k"].shape == (3, 2, 6, 4)  # [B, heads, T, head_dim] per layer


def test_prompted_cached_sampling_equals_naive():
  model = models.get("transformer", input_shape=(6,), num_classes=5, **TINY)
  variables = testlib.perturbed(model, seed=3)
  prompt = testlib.example_input(model, 16, seed=4)
  known = np.array([True, True, True, False, False, False])
  key = jax.random.key(9)
  fast = ar_jax.sample(model, variables, key, 16, x_init=prompt, known=known)
  slow = ar_jax.sample(model, variables, key, 16, x_init=prompt, known=known, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))
  np.testing.assert_array_equal(np.asarray(fast)[:, :3], np.asarray(prompt)[:, :3])
  # The continuation depends on the prompt: another prompt, other samples.
  other = ar_jax.sample(model, variables, key, 16, x_init=(prompt + 1) % 5, known=known)
  assert np.any(np.asarray(other)[:, 3:] != np.asarray(fast)[:, 3:])


def test_dropout_only_in_train_log_prob():
  model = models.get("transformer", input_shape=(6,), num_classes=3, dropout=0.3, **TINY)
  variables = testlib.perturbed(model, seed=5)
  x = testlib.example_input(model, 4)
  lp = model.apply(variables, x, method="log_prob")
  np.testing.assert_array_equal(np.asarray(lp), np.asarray(model.apply(variables, x,
                                                                     method="log_prob")))
  train = [np.asarray(model.apply(variables, x, jax.random.key(k), method="train_log_prob"))
           for k in (0, 0, 1)]
  np.testing.assert_array_equal(train[0], train[1])  # same key, same mask
  assert np.all(train[0] != train[2]) and np.all(train[0] != np.asarray(lp))
  no_drop = model.clone(dropout=0.0)
  np.testing.assert_array_equal(
      np.asarray(no_drop.apply(variables, x, jax.random.key(0), method="train_log_prob")),
      np.asarray(lp))


@pytest.mark.parametrize("hp,match", [
    (dict(width=10, num_heads=4), "num_heads"),
    (dict(positions="rotary"), "positions"),
    (dict(positions="sinusoidal", width=9, num_heads=3), "even"),
    (dict(dropout=1.0), "dropout"),
])
def test_bad_config_is_named(hp, match):
  with pytest.raises(ValueError, match=match):
    models.get("transformer", input_shape=(4,), **{**TINY, **hp})


def test_sinusoidal_positions():
  table = transformer.sinusoidal_positions(5, 6)
  p = np.arange(5)
  np.testing.assert_allclose(table[:, 0], np.sin(p), atol=1e-6)
  np.testing.assert_allclose(table[:, 1], np.cos(p), atol=1e-6)
  np.testing.assert_allclose(table[:, 5], np.cos(p / 10000 ** (4 / 6)), atol=1e-6)


def test_adamw_decays_matrices_only():
  c = configs.default_config().optim
  c.name, c.weight_decay, c.lr, c.decay_matrices_only = "adamw", 0.5, 0.1, True
  tx, _ = optim.make_optimizer(c, 10)
  params = {"kernel": jnp.ones((2, 2)), "scale": jnp.ones((2,))}
  zero = jax.tree.map(jnp.zeros_like, params)
  updates, _ = tx.update(zero, tx.init(params), params)
  new = optax.apply_updates(params, updates)
  np.testing.assert_allclose(np.asarray(new["kernel"]), 1 - 0.1 * 0.5, rtol=1e-6)
  np.testing.assert_array_equal(np.asarray(new["scale"]), 1.0)

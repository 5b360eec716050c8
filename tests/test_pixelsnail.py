"""PixelSNAIL: full causal context, the zero read of the first pixel, outputs, conditioning.

The conformance suite covers the default model (logistic mixture) on 3x3x1
and 2x2x3; here: the dependence pattern on a 5x5 image (every earlier pixel,
nothing else), the attention block alone, the categorical head, conditioning
and dropout.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import masks
from ar_jax import models
from ar_jax.nn import attention

import testlib


def _dependence(f, x, n_out, n_in):
  """[n_out, n_in] bool: output i has a nonzero derivative w.r.t. input j at some x."""
  jac = jax.jit(jax.vmap(jax.jacfwd(f)))(x)  # [N, n_out, ..., n_in, ...]
  return np.asarray(jnp.any(jac.reshape(x.shape[0], n_out, -1, n_in, x[0].size // n_in) != 0,
                            axis=(0, 2, 4)))


def test_each_pixel_sees_every_earlier_pixel_and_nothing_else_on_5x5():
  model = models.get("pixelsnail", input_shape=(5, 5, 1))
  variables = testlib.perturbed(model)
  x = testlib.relaxed_input(model, n=1)
  f = lambda xi: model.apply(variables, xi[None]).reshape(25, -1)
  dep = _dependence(f, x, 25, 25)
  np.testing.assert_array_equal(dep, np.tril(np.ones((25, 25), bool), -1))


def _attention_block(t=5, f=3):
  block = attention.CausalAttention(num_heads=2, key_size=4, value_size=6)
  rng = np.random.default_rng(0)
  q = jnp.asarray(rng.standard_normal((2, t, f)), jnp.float32)
  kv = jnp.asarray(rng.standard_normal((2, t, f + 1)), jnp.float32)
  mask = jnp.asarray(masks.causal_attention_mask(t, exclusive=True))
  return block, block.init(jax.random.key(0), q, kv, mask), q, kv, mask


def test_attention_block_first_row_reads_exactly_zero():
  block, v, q, kv, mask = _attention_block()
  out = np.asarray(block.apply(v, q, kv, mask))
  assert np.all(out[:, 0] == 0.0) and np.all(np.abs(out[:, 1:]).max(-1) > 0)
  # Without the zero read, the empty first row averages every key (the leak).
  q_h, (k_h, v_h) = block.apply(v, q, method="queries"), block.apply(v, kv, method="keys_values")
  plain = attention.attend(*(a.transpose(0, 2, 1, 3) for a in (q_h, k_h, v_h)), mask)
  assert np.abs(np.asarray(plain)[:, :, 0]).max() > 1e-3


def test_attention_block_jacobian_zero_pattern():
  block, v, q, kv, mask = _attention_block()
  t = q.shape[1]
  strict = np.tril(np.ones((t, t), bool), -1)
  dep_kv = _dependence(lambda a: block.apply(v, q[:1], a[None], mask)[0], kv, t, t)
  np.testing.assert_array_equal(dep_kv, strict)  # keys/values of earlier positions only
  dep_q = _dependence(lambda a: block.apply(v, a[None], kv[:1], mask)[0], q, t, t)
  # Its own query only; row 0 reads nothing and row 1 one key (softmax weight 1).
  np.testing.assert_array_equal(dep_q, np.diag(np.arange(t) > 1))


def test_attention_block_step_equals_the_full_pass():
  block, v, q, kv, mask = _attention_block()
  full = np.asarray(block.apply(v, q, kv, mask))
  cache = block.init_cache(2, q.shape[1])
  for t in range(q.shape[1]):
    if t > 0:
      cache = block.apply(v, cache, kv[:, t - 1], t - 1, method="write")
    read = block.apply(v, q[:, t], cache, mask[t], method="read")
    np.testing.assert_allclose(np.asarray(read), full[:, t], rtol=1e-5, atol=1e-6)


def test_categorical_head_is_causal_normalized_and_cached_exactly():
  model = models.get("pixelsnail", input_shape=(2, 2, 3), output="categorical", num_blocks=1)
  variables = testlib.perturbed(model)
  testlib.assert_causal(model, variables)  # channel coupling: G sees R, B sees R and G
  x = testlib.all_inputs(model)
  total = float(jnp.exp(jax.nn.logsumexp(model.apply(variables, x, method="log_prob"))))
  assert abs(total - 1.0) < 1e-4
  key = jax.random.key(4)
  np.testing.assert_array_equal(
      np.asarray(ar_jax.sample(model, variables, key, 32, use_cache=True)),
      np.asarray(ar_jax.sample(model, variables, key, 32, use_cache=False)))


def test_class_conditioning_changes_the_model_and_is_cached_exactly():
  model = models.get("pixelsnail", input_shape=(3, 3, 1), cond_classes=3, num_blocks=1)
  x = testlib.all_inputs(model)
  init = model.init(jax.random.key(0), x[:2], cond=jnp.zeros((2,), jnp.int32))
  rng = np.random.default_rng(0)  # perturbed, as testlib.perturbed (which passes no cond)
  variables = jax.tree.map(lambda a: a + 0.3 * rng.standard_normal(a.shape).astype(a.dtype),
                           init)
  log_prob = jax.jit(lambda x, c: model.apply(variables, x, cond=c, method="log_prob"))
  lps = [log_prob(x, jnp.full((x.shape[0],), c, jnp.int32)) for c in range(3)]
  for lp in lps:
    assert abs(float(jnp.exp(jax.nn.logsumexp(lp))) - 1.0) < 1e-4
  assert float(jnp.abs(lps[0] - lps[1]).max()) > 1e-2
  cond = jnp.arange(32, dtype=jnp.int32) % 3
  key = jax.random.key(5)
  np.testing.assert_array_equal(
      np.asarray(ar_jax.sample(model, variables, key, 32, cond=cond, use_cache=True)),
      np.asarray(ar_jax.sample(model, variables, key, 32, cond=cond, use_cache=False)))
  with pytest.raises(ValueError, match="conditional"):
    model.apply(variables, x[:2], method="log_prob")
  plain = models.get("pixelsnail", input_shape=(3, 3, 1))
  with pytest.raises(ValueError, match="unconditional"):
    plain.apply(plain.init(jax.random.key(0), x[:2]), x[:2], cond=cond[:2], method="log_prob")


def test_dropout_only_in_train_log_prob():
  model = models.get("pixelsnail", input_shape=(3, 3, 1), dropout=0.5)
  variables = testlib.perturbed(model)
  x = testlib.example_input(model, 4)
  plain = models.get("pixelsnail", input_shape=(3, 3, 1))
  lp, lp_plain = (jax.jit(lambda x, m=m: m.apply(variables, x, method="log_prob"))(x)
                  for m in (model, plain))
  np.testing.assert_array_equal(np.asarray(lp), np.asarray(lp_plain))
  train = jax.jit(lambda x, k: model.apply(variables, x, k, method="train_log_prob"))
  a, b = (train(x, jax.random.key(k)) for k in (0, 1))
  assert float(jnp.abs(a - b).max()) > 1e-4 and float(jnp.abs(a - lp).max()) > 1e-4


def test_bad_hyperparameters_name_the_key():
  with pytest.raises(ValueError, match="key_size must be a multiple of num_heads=2"):
    models.get("pixelsnail", input_shape=(3, 3, 1), num_heads=2, key_size=3)
  with pytest.raises(ValueError, match="output must be one of"):
    models.get("pixelsnail", input_shape=(3, 3, 1), output="bernoulli")

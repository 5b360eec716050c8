"""WaveNet beyond the conformance suite: receptive field, conditioning, Fast WaveNet cache."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import models

import testlib

_TINY = dict(num_classes=3, num_stacks=2, layers_per_stack=3, residual_channels=4,
             gate_channels=3, skip_channels=5)


def _model(t=16, **hp):
  return models.get("wavenet", input_shape=(t,), **{**_TINY, **hp})


def _variables(model, cond=None, seed=0):
  """Init under `cond`, then every entry moved (no zero bias hides a path)."""
  x = testlib.example_input(model, 2, seed)
  kw = {} if cond is None else {"cond": cond}
  v = model.init(jax.random.key(seed), x, **kw)
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda a: a + 0.3 * rng.standard_normal(a.shape).astype(np.float32), v)


def _local(model, b, seed=1):
  f = -(-model.input_shape[0] // model.local_hop)
  rng = np.random.default_rng(seed)
  return jnp.asarray(rng.standard_normal((b, f, model.local_channels)), jnp.float32)


def _band(t_len, lo_of_t, hi_of_t, width):
  """bool [T, width]: [t, s] True iff lo_of_t(t) <= s <= hi_of_t(t)."""
  s = np.arange(width)[None]
  t = np.arange(t_len)[:, None]
  return (s >= np.vectorize(lo_of_t)(t)) & (s <= np.vectorize(hi_of_t)(t))


def _deps(f, arg_N, *rest_N):
  """[T, S] bool: output row t has a nonzero gradient w.r.t. row s of f's first argument.

  OR over N inputs (the leading axis of every argument), in one compiled program.
  """
  jac = jax.jit(jax.vmap(jax.jacrev(f)))(arg_N, *rest_N)  # [N, T, P, S, ...]
  n, t, s = jac.shape[0], jac.shape[1], jac.shape[3]
  return np.asarray(jnp.any(jac.reshape(n, t, -1, s, int(np.prod(jac.shape[4:]))) != 0,
                            axis=(0, 2, 4)))


@pytest.mark.parametrize("hp", [{}, dict(kernel_size=3, input_kernel_size=3)])
def test_receptive_field_is_the_gradient_support(hp):
  model = _model(t=40, **hp)
  v = _variables(model)
  dep = _deps(lambda x: model.apply(v, x[None])[0], testlib.relaxed_input(model, n=3))
  r = model.receptive_field
  assert r == hp.get("input_kernel_size", 2) + (hp.get("kernel_size", 2) - 1) * 2 * 7
  np.testing.assert_array_equal(dep, _band(40, lambda t: t - r, lambda t: t - 1, 40))


@pytest.mark.parametrize("upsample", ["repeat", "transposed"])
def test_local_features_seen_exactly_and_audio_never_leaks(upsample):
  """Output t sees frames local_frames_seen(t) only; x only at t-R..t-1, with cond given."""
  model = _model(t=24, local_channels=2, local_hop=4, local_upsample=upsample,
                 cond_classes=3)
  v = _variables(model, _cond_for(model, 2))
  cond = {"global": jnp.array([1], jnp.int32), "local": _local(model, 1)}
  # OR over 3 audio inputs: at one input a tiny ReLU head can switch a whole
  # output row off, which would look like "sees nothing".
  audio = jnp.concatenate([testlib.example_input(model, 1, seed=s) for s in range(3)])
  dep_local = _deps(lambda c, x: model.apply(
      v, x[None], cond={"global": cond["global"], "local": c[None]})[0],
                    jnp.repeat(cond["local"], 3, axis=0), audio)
  first = lambda t: model.local_frames_seen(t)[0]
  last = lambda t: model.local_frames_seen(t)[1]
  assert model.local_frames_seen(23) == ((23 - model.local_context) // 4, 5)
  np.testing.assert_array_equal(dep_local, _band(24, first, last, 6))
  dep_x = _deps(lambda x: model.apply(v, x[None], cond=cond)[0],
                testlib.relaxed_input(model, n=3))
  r = model.receptive_field
  np.testing.assert_array_equal(dep_x, _band(24, lambda t: t - r, lambda t: t - 1, 24))


def test_global_id_changes_a_normalized_distribution():
  model = _model(t=3, cond_classes=3)
  v = _variables(model, jnp.zeros((2,), jnp.int32))
  x = testlib.all_inputs(model)
  probs = []
  for g in range(3):
    lp = model.apply(v, x, cond=jnp.full((x.shape[0],), g, jnp.int32), method="log_prob")
    probs.append(np.exp(np.asarray(lp, np.float64)))
    assert abs(probs[-1].sum() - 1.0) < 1e-5
  assert 0.5 * np.abs(probs[0] - probs[1]).sum() > 0.01  # the id matters


def test_vector_global_cond_enters_every_gate():
  model = _model(t=6, cond_size=2)
  g = jnp.ones((2, 2), jnp.float32)
  v = _variables(model, g)
  assert all(f"global_proj_{l}" in v["params"] for l in range(len(model.dilations)))
  x = testlib.example_input(model, 2)
  a = model.apply(v, x, cond=g)
  b = model.apply(v, x, cond=-g)
  assert np.abs(np.asarray(a - b)).max() > 1e-3


def test_cond_is_checked():
  unc = _model(t=6)
  v = _variables(unc)
  x = testlib.example_input(unc, 2)
  with pytest.raises(ValueError, match="unconditional"):
    unc.apply(v, x, cond=jnp.zeros((2,), jnp.int32))
  model = _model(t=6, cond_classes=3, local_channels=2, local_hop=4)
  with pytest.raises(ValueError, match="'global' and 'local'"):
    model.check_cond(jnp.zeros((2,), jnp.int32), 2)
  with pytest.raises(ValueError, match="outside"):
    model.check_cond({"global": jnp.array([0, 3]), "local": _local(model, 2)}, 2)
  with pytest.raises(ValueError, match=r"ceil\(T / hop\)"):
    model.check_cond({"global": jnp.array([0, 1]), "local": jnp.zeros((2, 1, 2))}, 2)
  with pytest.raises(ValueError, match="conditional"):
    model.check_cond(None, 2)
  with pytest.raises(ValueError, match="at most one"):
    _model(cond_classes=2, cond_size=2)
  with pytest.raises(ValueError, match="local_upsample"):
    _model(local_channels=2, local_upsample="linear")


_CACHE_CASES = {
    "global+local-repeat": dict(cond_classes=3, local_channels=2, local_hop=3),
    "vector+local-transposed": dict(cond_size=2, local_channels=2, local_hop=4,
                                    local_upsample="transposed"),
    "logistic-k3": dict(output="logistic", num_mixtures=2, kernel_size=3,
                        input_kernel_size=3),
}


def _cond_for(model, b):
  g = None
  if model.cond_classes:
    g = jnp.asarray(np.arange(b) % model.cond_classes, jnp.int32)
  elif model.cond_size:
    g = jnp.asarray(np.random.default_rng(2).standard_normal((b, model.cond_size)), jnp.float32)
  local = _local(model, b) if model.local_channels else None
  if g is not None and local is not None:
    return {"global": g, "local": local}
  return g if local is None else local


@pytest.mark.parametrize("case", list(_CACHE_CASES))
def test_cached_steps_reproduce_call_and_samples(case):
  """Teacher-forced cached_step params == __call__ params; cached == naive samples."""
  model = _model(t=13, **_CACHE_CASES[case])
  b = 8
  cond = _cond_for(model, b)
  kw = {} if cond is None else {"cond": cond}
  v = _variables(model, _cond_for(model, 2))
  x = testlib.example_input(model, b, seed=4)
  want = np.asarray(model.apply(v, x, **kw))

  def step(cache, t):
    s = ar_jax.models.base.CacheStep(t=t, dim=t, prev_dim=jnp.maximum(t - 1, 0),
                                     x_prev=jnp.where(t > 0, x[:, jnp.maximum(t - 1, 0)], 0),
                                     order_index=jnp.int32(0))
    p, cache = model.apply(v, cache, s, method="cached_step", **kw)
    return cache, p

  cache = model.apply(v, b, method="init_cache", **kw)
  _, got = jax.lax.scan(step, cache, jnp.arange(13, dtype=jnp.int32))
  np.testing.assert_allclose(np.swapaxes(np.asarray(got), 0, 1), want, rtol=1e-5, atol=1e-5)
  key = jax.random.key(5)
  fast = ar_jax.sample(model, v, key, b, use_cache=True, **kw)
  slow = ar_jax.sample(model, v, key, b, use_cache=False, **kw)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))


def test_queues_are_one_ring_per_layer_at_its_dilation():
  model = _model(t=20, kernel_size=3)
  v = _variables(model)
  cache = model.apply(v, 2, method="init_cache")
  assert [q.shape[1] for q in cache["queues"]] == [2 * d for d in model.dilations]
  assert model.dilations == (1, 2, 4, 1, 2, 4)

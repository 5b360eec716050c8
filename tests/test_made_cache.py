"""MADE's cached sampler: each step equals the full network, for every pool entry.

The conformance suite checks cached == naive samples on tiny MADEs; these
tests check the params of every step against `__call__` directly (teacher
forcing a fixed x), on deeper, K-class, conditional and ensemble MADEs, and
the samples of a mid-sized MADE.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import masks
from ar_jax import models
from ar_jax.models import base


def _model_and_vars(hp, cond=None, d=6, seed=0):
  model = models.get("made", input_shape=(d,), **hp)
  x = jnp.zeros((5 if cond is None else cond.shape[0], d), jnp.int32)
  variables = model.init(jax.random.key(seed), x, **({} if cond is None else {"cond": cond}))
  # Perturb every param (direct and cond kernels start at zero).
  leaves, tree = jax.tree.flatten(variables)
  keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
  leaves = [v + 0.5 * jax.random.normal(k, v.shape) for v, k in zip(leaves, keys)]
  return model, jax.tree.unflatten(tree, leaves)


def _teacher_forced_steps(model, variables, x, m, cond_kw):
  """Params [B, D, P] (data order) from cached_step, feeding x's values."""
  order = jnp.asarray(model.orderings()[m], jnp.int32)
  prev = jnp.concatenate([order[:1], order[:-1]])
  m = jnp.int32(m)

  @jax.jit
  def run(variables, x, cond_kw):
    cache = model.apply(variables, x.shape[0], method="init_cache", order_index=m, **cond_kw)

    def body(cache, inp):
      t, d, p = inp
      step = base.CacheStep(t=t, dim=d, prev_dim=p, order_index=m,
                            x_prev=jnp.where(t > 0, x[:, p], 0))
      params_BxP, cache = model.apply(variables, cache, step, method="cached_step", **cond_kw)
      return cache, params_BxP

    _, out_DxBxP = jax.lax.scan(body, cache, (jnp.arange(order.shape[0]), order, prev))
    return jnp.zeros_like(out_DxBxP).at[order].set(out_DxBxP).transpose(1, 0, 2)

  return run(variables, x, cond_kw)


@pytest.mark.parametrize("hp,cond", [
    ({"hidden_sizes": (7, 5, 9), "direct": True, "num_classes": 3}, None),
    ({"hidden_sizes": (8, 8), "cond_classes": 3, "direct": True}, "labels"),
    ({"hidden_sizes": (8,), "cond_size": 2, "hidden_degrees": "even"}, "vectors"),
    ({"hidden_sizes": (), "direct": True, "num_classes": 4}, None),
    ({"hidden_sizes": (6, 10), "num_masks": 3, "order_agnostic": True,
      "connectivity_agnostic": True, "direct": True}, None),
])
def test_every_cached_step_equals_the_full_network(hp, cond):
  b = 5
  cond = {None: None, "labels": jnp.arange(b) % 3,
          "vectors": jax.random.normal(jax.random.key(9), (b, 2))}[cond]
  model, variables = _model_and_vars(hp, cond)
  cond_kw = {} if cond is None else {"cond": cond}
  k = model.num_classes
  x = jax.random.randint(jax.random.key(3), (b, model.num_dims), 0, k)
  for m in range(model.num_orderings):
    full = model.apply(variables, x, order_index=m, **cond_kw).reshape(b, model.num_dims, -1)
    cached = _teacher_forced_steps(model, variables, x, m, cond_kw)
    np.testing.assert_allclose(np.asarray(cached), np.asarray(full), rtol=1e-5, atol=1e-5,
                               err_msg=f"order_index={m}")


def test_cached_samples_equal_naive_on_a_mid_sized_made():
  model, variables = _model_and_vars({"hidden_sizes": (60, 60), "direct": True}, d=40)
  key = jax.random.key(4)
  fast = ar_jax.sample(model, variables, key, 32)
  slow = ar_jax.sample(model, variables, key, 32, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))
  assert 0.05 < float(np.mean(np.asarray(fast))) < 0.95  # not a degenerate draw


def test_degree_groups_partition_the_units_by_degree():
  deg = np.array([[3, 1, 2, 3, 1, 3], [2, 2, 2, 1, 1, 3]])
  g = masks.degree_groups(deg, 4)
  assert g.width == 3 and g.units.shape == (2, 6 + 3)
  for m in range(2):
    seen = []
    for t in range(5):
      units = g.units[m, g.start[m, t]: g.start[m, t] + g.count[m, t]]
      assert (deg[m, units] == t).all()
      seen += list(units)
    assert sorted(seen) == list(range(6))

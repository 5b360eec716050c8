"""Diagonal BiLSTM specifics beyond the conformance suite: full context and no
leak on a 5x5 image (by gradients), the known leak of zeroing the last row
instead of shifting the right-to-left direction down, the cached step against
the full pass, and config errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ar_jax import models
from ar_jax import nn as ar_nn
from ar_jax.models import base
from ar_jax.models import diagonal_bilstm

import testlib


def _dependencies(model, variables, x_N):
  """[D, D] bool: [i, j] iff some param of sub-pixel i has d/dx_j != 0 at some input.

  A new jitted function each call: a test that swaps a module-level function
  gets a fresh trace (testlib's cached one would reuse the old program).
  """
  d = model.num_dims
  f = lambda x: model.apply(variables, x[None]).reshape(d, -1)
  jac = jax.jit(jax.vmap(jax.jacrev(f)))(x_N)  # [N, D, P, H, W, C, K]
  return np.asarray(jnp.any(jac.reshape(len(x_N), d, -1, d, model.num_classes) != 0,
                            axis=(0, 2, 4)))


@pytest.mark.parametrize("shape", [(5, 5, 1), (3, 4, 3)])
def test_each_conditional_sees_every_earlier_sub_pixel_and_nothing_else(shape):
  """Full context: sub-pixel i depends on every sub-pixel before it in raster
  (h, w, c) order, and on none at or after it."""
  model = models.get("diagonal_bilstm", input_shape=shape)
  variables = testlib.perturbed(model, seed=2)
  dep = _dependencies(model, variables, testlib.relaxed_input(model, n=2))
  d = model.num_dims
  earlier = np.tril(np.ones((d, d), bool), k=-1)  # [i, j]: j < i
  np.testing.assert_array_equal(dep, earlier)


def test_without_pixel_in_the_last_pixel_of_a_row_is_blind_to_the_next_row():
  """The layer as the paper describes it (no `pixel_in`, here zeroed): pixel
  (i, j) misses (i - 1, W - 1) unless the 7x7 first layer reaches it (j >= 1
  on a 5-wide image); everything else is seen."""
  model = models.get("diagonal_bilstm", input_shape=(5, 5, 1))
  variables = testlib.perturbed(model, seed=2)
  params = dict(variables["params"])
  for l in range(model.num_layers):
    params[f"pixel_in_{l}"] = jax.tree.map(jnp.zeros_like, params[f"pixel_in_{l}"])
  dep = _dependencies(model, {"params": params}, testlib.relaxed_input(model, n=2))
  want = np.tril(np.ones((25, 25), bool), k=-1)
  for i in range(1, 5):
    want[5 * i, 5 * i - 1] = False  # (i, 0) does not see (i - 1, 4)
  np.testing.assert_array_equal(dep, want)


def _zero_last_row(y_BxHxWxC):
  """The leaky combination: the right-to-left output unshifted, its last row zeroed."""
  return y_BxHxWxC.at[:, -1].set(0.0)


def test_zeroing_the_last_row_instead_of_shifting_leaks_the_future(monkeypatch):
  """The right-to-left output must be shifted down a row, not have its last row
  zeroed: with that swap, pixels depend on pixels to their right and below."""
  model = models.get("diagonal_bilstm", input_shape=(5, 5, 1), num_layers=1)
  variables = testlib.perturbed(model, seed=3)
  x_N = testlib.relaxed_input(model, n=1)
  d = model.num_dims
  future = np.triu(np.ones((d, d), bool))  # [i, j]: j at or after i
  assert not (_dependencies(model, variables, x_N) & future).any()
  monkeypatch.setattr(ar_nn, "down_shift", _zero_last_row)
  leaks = _dependencies(model, variables, x_N) & future
  # Pixel (0, 0) sees itself and all of row 0 through the unshifted
  # right-to-left state, and every row but the last leaks.
  assert leaks[0, :5].all()
  assert sorted(set(np.argwhere(leaks)[:, 0] // 5)) == [0, 1, 2, 3]


def test_right_to_left_direction_sees_the_right_and_shifting_removes_it():
  """`directions` at (i, j): left-to-right sees (i' <= i, j' <= j) only through
  the states, right-to-left (i' <= i, j' >= j); the first layer is dropped
  here (the stream is given), so these are the recurrences' own fields."""
  model = models.get("diagonal_bilstm", input_shape=(4, 5, 1), num_layers=1)
  variables = testlib.perturbed(model, seed=4)
  h, w, ch = 4, 5, 2 * model.hidden_channels
  a = jax.random.normal(jax.random.key(0), (1, h, w, ch))
  feats = jax.random.uniform(jax.random.key(1), (1, h, w, 1))

  def field(which, shift):
    def f(a):
      pair = model.apply(variables, 0, a, feats, method="directions")
      y = ar_nn.down_shift(pair[which]) if shift else pair[which]
      return y.sum(-1)[0]  # [H, W]
    jac = jax.jit(jax.jacrev(f))(a)[..., 0, :, :, :]  # [H, W, H', W', ch]
    return np.asarray(jnp.any(jac != 0, axis=-1))

  ii, jj = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
  above = ii[None, None] <= ii[:, :, None, None]
  lr = above & (jj[None, None] <= jj[:, :, None, None])
  rl = above & (jj[None, None] >= jj[:, :, None, None])
  rl_shifted = (ii[None, None] < ii[:, :, None, None]) & (jj[None, None] >= jj[:, :, None, None])
  np.testing.assert_array_equal(field(0, False), lr)
  np.testing.assert_array_equal(field(1, False), rl)
  np.testing.assert_array_equal(field(1, True), rl_shifted)


@pytest.mark.parametrize("shape,k", [((4, 5, 3), 4), ((5, 3, 1), 2)])
def test_every_cached_step_equals_the_full_pass(shape, k):
  """Teacher-forced cached steps give __call__'s params at every sub-pixel."""
  model = models.get("diagonal_bilstm", input_shape=shape, num_classes=k)
  variables = testlib.perturbed(model, seed=5)
  x = testlib.example_input(model, 3, seed=6)
  d = model.num_dims
  full = np.asarray(model.apply(variables, x)).reshape(3, d, -1)
  x_flat = x.reshape(3, -1)

  @jax.jit
  def run(variables):
    cache = model.apply(variables, 3, method="init_cache")

    def body(cache, t):
      prev = jnp.maximum(t - 1, 0)
      step = base.CacheStep(t=t, dim=t, prev_dim=prev, order_index=jnp.int32(0),
                            x_prev=jnp.where(t > 0, x_flat[:, prev], 0))
      params, cache = model.apply(variables, cache, step, method="cached_step")
      return cache, params

    return jax.lax.scan(body, cache, jnp.arange(d, dtype=jnp.int32))[1]

  np.testing.assert_allclose(np.asarray(run(variables)).transpose(1, 0, 2), full,
                             rtol=1e-5, atol=1e-5)


def test_bad_hyperparameters_raise_readable_errors():
  with pytest.raises(ValueError, match="hidden_channels"):
    models.get("diagonal_bilstm", input_shape=(4, 4, 3), hidden_channels=4)
  with pytest.raises(ValueError, match="first_kernel"):
    models.get("diagonal_bilstm", input_shape=(4, 4, 1), first_kernel=4)
  with pytest.raises(ValueError, match="num_layers"):
    models.get("diagonal_bilstm", input_shape=(4, 4, 1), num_layers=0)
  with pytest.raises(ValueError, match="input_shape"):
    models.get("diagonal_bilstm", input_shape=(16,))
  assert diagonal_bilstm.DiagonalBiLSTM.supports_cache

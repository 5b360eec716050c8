"""Row LSTM beyond the conformance suite (which runs it on 3x3x1 and 2x2x3).

The receptive field by gradients: each conditional depends on exactly the
triangular field the paper describes, computed here from the layer rules
alone (a leak and a lost connection both fail); the R -> G -> B channel
order; the cached step, teacher-forced, equals the full pass at every dim;
bad hyperparameters are refused.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ar_jax import models
from ar_jax.models import base

import testlib


def reference_field(hgt, wid, c, num_layers, first_kernel, kernel_size):
  """[D, D] bool: [d, e] iff the conditional of dim d depends on input dim e.

  Built from the paper's layer rules, tracking for every feature (pixel,
  channel group) the set of input dims it depends on; dim (i, j, g) is
  (i * wid + j) * c + g.
  - 7x7 type A: rows i - q .. i - 1 within q columns, row i left of j within
    q columns (all groups), and groups < g of the pixel itself.
  - Row LSTM input-to-state, 1 x k type B: row i, columns j - r .. j - 1 (all
    groups) and groups <= g of the pixel.
  - state-to-state: h and c of row i - 1 at columns j - r .. j + r (all
    groups; c only at column j, a subset); h_{-1} = c_{-1} = 0 depend on nothing.
  - residual: the stream plus h of groups <= g (1x1 type B); output 1x1
    layers: the stream of groups <= g.
  """
  d = hgt * wid * c
  q, r = first_kernel // 2, kernel_size // 2
  dim = lambda i, j, g: (i * wid + j) * c + g
  pixels = lambda rows, cols: [(i, j) for i in rows for j in cols
                               if 0 <= i < hgt and 0 <= j < wid]
  a = np.zeros((hgt, wid, c, d), bool)
  for i in range(hgt):
    for j in range(wid):
      seen = pixels(range(i - q, i), range(j - q, j + q + 1)) + pixels([i], range(j - q, j))
      for pi, pj in seen:
        a[i, j, :, dim(pi, pj, 0):dim(pi, pj, 0) + c] = True
      for g in range(c):
        a[i, j, g, [dim(i, j, e) for e in range(g)]] = True
  below = lambda f: np.logical_or.accumulate(f, axis=2)  # groups <= g, per pixel
  for _ in range(num_layers):
    h = np.zeros_like(a)
    for i in range(hgt):
      for j in range(wid):
        u = below(a[i:i + 1, j:j + 1])[0, 0]
        for pi, pj in pixels([i], range(j - r, j)):
          u |= a[i, pj].any(axis=0)
        for pi, pj in pixels([i - 1], range(j - r, j + r + 1)):
          u |= h[pi, pj].any(axis=0)
        h[i, j] = u
    a = a | below(h)
  return below(a).reshape(d, d)


def dependencies(model, seeds=3):
  """[D, D] bool from the Jacobian of the params, nonzero somewhere.

  At 8 random relaxed inputs under `seeds` perturbed variables (one compiled
  program): a tiny ReLU head can switch every path of a dim off at one
  parameter point, which is not a lost connection. A leak at any point shows.
  """
  x = testlib.relaxed_input(model, n=8)
  dep = [np.asarray(testlib._dependencies(  # pylint: disable=protected-access
      model, testlib.perturbed(model, seed=s, scale=0.3), x, False, jnp.int32(0)))
         for s in range(seeds)]
  return np.logical_or.reduce(dep)


@pytest.mark.parametrize("shape,hp", [
    ((5, 5, 1), {}),  # the defaults: 2 layers, k = 3, 7x7 first layer
    ((5, 5, 1), {"num_layers": 1, "first_kernel": 3}),
    ((5, 5, 1), {"num_layers": 2, "first_kernel": 3, "kernel_size": 5}),
    ((4, 4, 3), {"num_layers": 1, "first_kernel": 3, "hidden_channels": 12,
                 "head_channels": 12}),
], ids=["defaults", "1-layer-k3", "2-layers-k5", "rgb"])
def test_dependencies_are_exactly_the_triangular_field(shape, hp):
  model = models.get("row_lstm", input_shape=shape, **hp)
  expected = reference_field(*shape, model.num_layers, model.first_kernel, model.kernel_size)
  got = dependencies(model)
  leaks, lost = np.argwhere(got & ~expected), np.argwhere(expected & ~got)
  assert leaks.size == 0 and lost.size == 0, (
      f"(output dim, input dim) leaks {leaks.tolist()}, lost {lost.tolist()}")
  # The reference is causal and strictly inside the full context.
  assert not np.triu(expected).any()


def test_the_field_is_a_triangle():
  """1 layer, k = 3, 3x3 first layer: pixel (4, 0) of a 5x5 image sees row 3
  up to column 1, and k//2 = 1 column more for every row further up."""
  field = reference_field(5, 5, 1, 1, 3, 3)[20].reshape(5, 5)
  np.testing.assert_array_equal(field, [[1, 1, 1, 1, 1],
                                        [1, 1, 1, 1, 0],
                                        [1, 1, 1, 0, 0],
                                        [1, 1, 0, 0, 0],
                                        [0, 0, 0, 0, 0]])


def test_rgb_channel_order():
  model = models.get("row_lstm", input_shape=(2, 2, 3), num_layers=1, hidden_channels=6,
                     head_channels=6)
  dep = dependencies(model).reshape(4, 3, 4, 3)  # [pixel, group, pixel, group]
  for p in range(4):
    # R sees no channel of its pixel, G sees R, B sees R and G.
    np.testing.assert_array_equal(dep[p, :, p, :], np.tril(np.ones((3, 3), bool), -1))
  assert dep[3, :, :3, :].all()  # every channel of earlier pixels (2x2: all in the field)


def test_cached_step_equals_the_full_pass_at_every_dim():
  model = models.get("row_lstm", input_shape=(4, 3, 3), num_classes=4, num_layers=2,
                     hidden_channels=6, head_channels=6)
  variables = testlib.perturbed(model, scale=0.5)
  x = testlib.example_input(model, 3, seed=2)
  full = np.asarray(model.apply(variables, x)).reshape(3, model.num_dims, -1)
  x_flat = x.reshape(3, -1)

  def run(x_flat):
    def body(cache, t):
      step = base.CacheStep(t=t, dim=t, prev_dim=jnp.maximum(t - 1, 0),
                            x_prev=jnp.where(t > 0, x_flat[:, jnp.maximum(t - 1, 0)], 0),
                            order_index=jnp.int32(0))
      params, cache = model.apply(variables, cache, step, method="cached_step")
      return cache, params
    cache = model.apply(variables, 3, method="init_cache")
    return jax.lax.scan(body, cache, jnp.arange(model.num_dims))[1]

  cached = np.asarray(jax.jit(run)(x_flat)).transpose(1, 0, 2)
  np.testing.assert_allclose(cached, full, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("hp,match", [
    ({"hidden_channels": 4}, "hidden_channels"),
    ({"kernel_size": 2}, "kernel_size"),
    ({"first_kernel": 0}, "first_kernel"),
    ({"num_layers": -1}, "num_layers"),
])
def test_bad_hyperparameters_are_refused(hp, match):
  with pytest.raises(ValueError, match=match):
    models.get("row_lstm", input_shape=(2, 2, 3), **hp)

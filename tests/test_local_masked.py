"""Locally masked convolution: per-location masks from an order, and the layer."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ar_jax import masks
from ar_jax.nn import LocallyMaskedConv2D, MaskedConv2D


def _brute_masks(order, height, width, k, dilation, mask_type):
  """Per-location masks by a direct loop over pixels and taps."""
  pos = {int(p): n for n, p in enumerate(order)}
  out = np.zeros((height * width, k * k), bool)
  for i, j, a, b in itertools.product(range(height), range(width), range(k), range(k)):
    ni, nj = i + (a - k // 2) * dilation, j + (b - k // 2) * dilation
    if 0 <= ni < height and 0 <= nj < width:
      mine, theirs = pos[i * width + j], pos[ni * width + nj]
      out[i * width + j, a * k + b] = theirs < mine if mask_type == "A" else theirs <= mine
  return out


@pytest.mark.parametrize("spec", ["raster", "s_curve", "hilbert", "random"])
@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_local_masks_match_brute_force(spec, mask_type):
  order = masks.get_ordering(spec, (5, 6), seed=3)
  for k, d in [(3, 1), (3, 2), (5, 1)]:
    np.testing.assert_array_equal(masks.local_masks(order, 5, 6, k, d, mask_type),
                                  _brute_masks(order, 5, 6, k, d, mask_type))


def test_raster_local_masks_equal_conv_mask_inside_the_image():
  m = masks.local_masks(masks.get_ordering("raster", (7, 7)), 7, 7, 3, 1, "B")
  centre = 3 * 7 + 3  # every tap of the middle pixel is inside the image
  np.testing.assert_array_equal(m[centre], masks.conv_mask(3, 3, 1, 1, "B")[..., 0, 0].ravel())
  assert masks.raster_live_taps(3, "A").tolist() == [0, 1, 2, 3]
  assert masks.raster_live_taps(3, "B").tolist() == [0, 1, 2, 3, 4]
  assert masks.raster_live_taps(3, "A", channel_groups=3).tolist() == [0, 1, 2, 3, 4]


def test_local_masks_bad_input():
  with pytest.raises(ValueError, match=r"order must list the 3x3 = 9 pixels"):
    masks.local_masks(np.arange(27), 3, 3, 3)
  with pytest.raises(ValueError, match="kernel_size"):
    masks.local_masks(np.arange(9), 3, 3, 2)
  with pytest.raises(ValueError, match="mask_type"):
    masks.local_masks(np.arange(9), 3, 3, 3, mask_type="C")


def _init(layer, x, mask):
  return layer.init(jax.random.PRNGKey(0), x, mask)


@pytest.mark.parametrize("mask_type,groups", [("A", 1), ("B", 1), ("A", 3), ("B", 3)])
@pytest.mark.parametrize("fixed_raster", [False, True])
def test_raster_order_equals_masked_conv2d(mask_type, groups, fixed_raster):
  h, w, cin, cout = 5, 7, 6, 9
  x = jax.random.normal(jax.random.PRNGKey(1), (2, h, w, cin))
  for k in (3, 5):
    mask = None if fixed_raster else masks.local_masks(
        masks.get_ordering("raster", (h, w)), h, w, k, 1, mask_type)
    layer = LocallyMaskedConv2D(cout, k, mask_type=mask_type, channel_groups=groups,
                                fixed_raster=fixed_raster,
                                bias_init=jax.nn.initializers.normal(1.0))
    params = _init(layer, x, mask)
    dense = MaskedConv2D(cout, k, mask=masks.conv_mask(k, k, cin, cout, mask_type, groups))
    want = dense.apply(params, x)
    got = layer.apply(params, x, mask)
    assert float(jnp.max(jnp.abs(want))) > 0.1
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


def _jacobian_support(layer, params, mask, h, w):
  def f(flat):
    return layer.apply(params, flat.reshape(1, h, w, 1), mask).reshape(-1)
  jac = jax.jacrev(f)(jax.random.normal(jax.random.PRNGKey(2), (h * w,)))
  return np.asarray(jac) != 0  # [out pixel, in pixel]


@pytest.mark.parametrize("spec", ["raster", "s_curve", "hilbert", "random"])
@pytest.mark.parametrize("dilation", [1, 2])
def test_causal_by_gradient_under_any_order(spec, dilation):
  h = w = 5
  order = masks.get_ordering(spec, (h, w), seed=7)
  pos = masks.positions(order)
  mask = masks.local_masks(order, h, w, 3, dilation, "A")
  layer = LocallyMaskedConv2D(1, 3, mask_type="A", dilation=dilation)
  params = _init(layer, jnp.zeros((1, h, w, 1)), mask)
  support = _jacobian_support(layer, params, mask, h, w)
  want = np.zeros_like(support)
  for i, j in itertools.product(range(h), range(w)):
    for di, dj in itertools.product((-dilation, 0, dilation), repeat=2):
      ni, nj = i + di, j + dj
      if 0 <= ni < h and 0 <= nj < w and pos[ni * w + nj] < pos[i * w + j]:
        want[i * w + j, ni * w + nj] = True
  # Zero unless strictly earlier and in the kernel; nonzero for every such neighbour.
  np.testing.assert_array_equal(support, want)
  assert want.sum() > h * w  # the orders give most pixels several earlier neighbours


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_channel_groups_causal_by_gradient(mask_type):
  """RGB under the Hilbert order: output group g of pixel p reads earlier pixels'
  channels in the kernel, and its own pixel's groups < g (A) or <= g (B)."""
  h = w = 4
  order = masks.get_ordering("hilbert", (h, w))
  pos = masks.positions(order)
  mask = masks.local_masks(order, h, w, 3, 1, mask_type)
  layer = LocallyMaskedConv2D(3, 3, mask_type=mask_type, channel_groups=3)
  params = _init(layer, jnp.zeros((1, h, w, 3)), mask)

  def f(flat):
    return layer.apply(params, flat.reshape(1, h, w, 3), mask).reshape(-1)
  jac = jax.jacrev(f)(jax.random.normal(jax.random.PRNGKey(5), (h * w * 3,)))
  support = np.asarray(jac).reshape(h * w, 3, h * w, 3) != 0
  want = np.zeros_like(support)
  for i, j, di, dj in itertools.product(range(h), range(w), (-1, 0, 1), (-1, 0, 1)):
    p, q = i * w + j, (i + di) * w + j + dj
    if 0 <= i + di < h and 0 <= j + dj < w and pos[q] < pos[p]:
      want[p, :, q, :] = True
  g_out, g_in = np.arange(3)[:, None], np.arange(3)[None, :]
  for p in range(h * w):
    want[p, :, p, :] = g_in < g_out if mask_type == "A" else g_in <= g_out
  np.testing.assert_array_equal(support, want)


def test_fixed_raster_weight_norm_equals_masked_conv2d():
  x = jax.random.normal(jax.random.PRNGKey(6), (2, 5, 5, 3))
  layer = LocallyMaskedConv2D(6, 3, mask_type="B", channel_groups=3, fixed_raster=True,
                              weight_norm=True)
  params = _init(layer, x, None)
  dense = MaskedConv2D(6, 3, mask=masks.conv_mask(3, 3, 3, 6, "B", 3), weight_norm=True)
  np.testing.assert_allclose(layer.apply(params, x), dense.apply(params, x), atol=1e-5)


def test_centre_column_of_the_mask_is_not_read():
  h = w = 4
  mask = masks.local_masks(masks.get_ordering("s_curve", (h, w)), h, w, 3, 1, "B")
  layer = LocallyMaskedConv2D(6, 3, mask_type="B", channel_groups=3)
  x = jax.random.normal(jax.random.PRNGKey(3), (1, h, w, 3))
  params = _init(layer, x, mask)
  flipped = mask.copy()
  flipped[:, 4] = False
  np.testing.assert_array_equal(layer.apply(params, x, mask), layer.apply(params, x, flipped))


def test_traced_mask_under_jit():
  h = w = 4
  stack = np.stack([masks.local_masks(masks.get_ordering(s, (h, w)), h, w, 3, 1, "A")
                    for s in ("raster", "hilbert")])
  layer = LocallyMaskedConv2D(2, 3, mask_type="A")
  x = jax.random.normal(jax.random.PRNGKey(4), (2, h, w, 1))
  params = _init(layer, x, stack[0])
  stack_j = jnp.asarray(stack)
  run = jax.jit(lambda m: layer.apply(params, x, stack_j[m]))
  for m in range(2):
    np.testing.assert_allclose(run(m), layer.apply(params, x, stack[m]), atol=1e-6)
  assert not np.allclose(run(0), run(1))


@pytest.mark.parametrize("fixed_raster", [False, True])
def test_masks_are_not_params(fixed_raster):
  h, w, cin, cout = 4, 4, 3, 5
  mask = None if fixed_raster else masks.local_masks(np.arange(h * w), h, w, 3, 1, "B")
  layer = LocallyMaskedConv2D(cout, 3, mask_type="B", fixed_raster=fixed_raster)
  variables = _init(layer, jnp.zeros((1, h, w, cin)), mask)
  assert set(variables) == {"params"}
  shapes = jax.tree_util.tree_map(jnp.shape, variables["params"])
  assert shapes == {"kernel": (3, 3, cin, cout), "bias": (cout,)}


def test_bad_mask_and_config():
  x = jnp.zeros((1, 4, 4, 1))
  layer = LocallyMaskedConv2D(2, 3, mask_type="A")
  with pytest.raises(ValueError, match=r"mask must have shape \(H' \* W', kh \* kw\) = \(16, 9\)"):
    _init(layer, x, np.ones((16, 25)))
  with pytest.raises(ValueError, match="no mask given"):
    _init(layer, x, None)
  with pytest.raises(ValueError, match="pass mask=None"):
    _init(LocallyMaskedConv2D(2, 3, mask_type="A", fixed_raster=True), x, np.ones((16, 9)))
  with pytest.raises(ValueError, match="kernel_size"):
    _init(LocallyMaskedConv2D(2, 4, mask_type="A"), x, np.ones((16, 16)))


@pytest.mark.parametrize("fixed_raster,dilation,groups,mask_type",
                         [(False, 1, 1, "A"), (False, 2, 3, "B"), (True, 1, 3, "A")])
def test_at_pixel_equals_the_full_layer(fixed_raster, dilation, groups, mask_type):
  """One pixel from its window of the padded map, under its mask row, is the
  layer's output there (a cached sampler's step), with dilation and groups."""
  h, w, k = 5, 6, 3
  mask = None if fixed_raster else masks.local_masks(
      masks.get_ordering("hilbert", (h, w)), h, w, k, dilation, mask_type)
  layer = LocallyMaskedConv2D(6, k, mask_type=mask_type, dilation=dilation,
                              channel_groups=groups, fixed_raster=fixed_raster,
                              bias_init=jax.nn.initializers.normal(1.0))
  x = jax.random.normal(jax.random.PRNGKey(7), (2, h, w, 3))
  params = _init(layer, x, mask)
  full = layer.apply(params, x, mask)
  r = k // 2 * dilation
  xp = jnp.pad(x, ((0, 0), (r, r), (r, r), (0, 0)))
  at = jax.jit(lambda win, row: layer.apply(params, win, row, method="at_pixel"))
  for i, j in itertools.product(range(h), range(w)):
    row = None if fixed_raster else jnp.asarray(mask)[i * w + j]
    np.testing.assert_allclose(at(xp[:, i:i + 2 * r + 1, j:j + 2 * r + 1], row),
                               full[:, i, j], atol=1e-5, rtol=1e-5)
  # VALID on the padded map is the SAME output.
  np.testing.assert_allclose(layer.apply(params, xp, mask, padding="VALID"), full, atol=1e-5)


def test_at_pixel_bad_window():
  layer = LocallyMaskedConv2D(2, 3, mask_type="A", dilation=2)
  params = _init(layer, jnp.zeros((1, 4, 4, 1)), np.ones((16, 9)))
  with pytest.raises(ValueError, match=r"window must be \[B, 5, 5, Cin\]"):
    layer.apply(params, jnp.zeros((1, 3, 3, 1)), np.ones(9), method="at_pixel")
  with pytest.raises(ValueError, match=r"mask_row must have shape \(kh \* kw,\) = \(9,\)"):
    layer.apply(params, jnp.zeros((1, 5, 5, 1)), np.ones(25), method="at_pixel")
  with pytest.raises(ValueError, match="padding must be 'SAME' or 'VALID'"):
    layer.apply(params, jnp.zeros((1, 4, 4, 1)), np.ones((16, 9)), padding="FULL")

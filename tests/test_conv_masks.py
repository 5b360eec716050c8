"""Tests for the PixelCNN / Gated PixelCNN conv masks (ar_jax.masks.conv, re-exported
by ar_jax.masks) and the conv checker, by unrolling masks into dense matrices."""

import numpy as np
import pytest

from ar_jax import masks as M


# ------------------------------------------------------------- conv masks


def test_conv_mask_a_and_b_differ_exactly_at_centre():
  a, b = M.conv_mask(5, 3, 2, 4, "A"), M.conv_mask(5, 3, 2, 4, "B")
  assert a.dtype == np.float32 and a.shape == (5, 3, 2, 4)
  diff = np.argwhere(a != b)
  assert set(map(tuple, diff[:, :2])) == {(2, 1)}
  assert (a[2, 1] == 0).all() and (b[2, 1] == 1).all()
  assert (a[:2] == 1).all() and (a[3:] == 0).all()
  np.testing.assert_array_equal(a[2, :, 0, 0], [1, 0, 0])


def test_conv_mask_channel_groups():
  a = M.conv_mask(3, 3, 6, 6, "A", channel_groups=3)
  b = M.conv_mask(3, 3, 6, 6, "B", channel_groups=3)
  g = np.arange(6) // 2  # contiguous groups R R G G B B
  np.testing.assert_array_equal(a[1, 1], g[:, None] < g[None, :])
  np.testing.assert_array_equal(b[1, 1], g[:, None] <= g[None, :])
  first = M.conv_mask(3, 3, 3, 6, "A", channel_groups=3)  # RGB data in
  np.testing.assert_array_equal(first[1, 1], [[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1],
                                              [0, 0, 0, 0, 0, 0]])
  assert (first[1, 0] == 1).all() and (first[1, 2] == 0).all()


@pytest.mark.parametrize("args, match", [
    ((3, 3, 4, 6, "A", 3), "in_channels=4 must be divisible by channel_groups=3"),
    ((3, 3, 3, 5, "A", 3), "out_channels=5 must be divisible by channel_groups=3"),
    ((4, 3, 3, 3, "A", 1), "kernel_h must be a positive odd int"),
    ((3, 3, 3, 3, "C", 1), "mask_type must be 'A' or 'B', got 'C'"),
])
def test_conv_mask_errors(args, match):
  with pytest.raises(ValueError, match=match):
    M.conv_mask(*args)


def test_unroll_conv_mask_receptive_field():
  dense = M.unroll_conv_mask(M.conv_mask(3, 3, 1, 1, "A"), 3, 3)
  np.testing.assert_array_equal(np.flatnonzero(dense[:, 4]), [0, 1, 2, 3])  # centre pixel
  np.testing.assert_array_equal(np.flatnonzero(dense[:, 0]), [])  # first pixel sees nothing


@pytest.mark.parametrize("groups", [1, 3])
def test_pixelcnn_stack_is_autoregressive_and_b_first_is_not(groups):
  c, f = groups, 2 * groups
  stack = [M.conv_mask(3, 3, c, f, "A", groups), M.conv_mask(5, 5, f, f, "B", groups),
           M.conv_mask(1, 1, f, c, "B", groups)]
  M.check_conv_autoregressive(stack, height=5, width=5, channel_groups=groups)
  with pytest.raises(M.AutoregressiveError,
                     match=r"output unit 0 \(pixel \(0, 0\)( group 0)?, position 0\) sees "
                     r"input feature 0 \(pixel \(0, 0\)( group 0)?, position 0\) via hidden unit"):
    M.check_conv_autoregressive([M.conv_mask(3, 3, c, f, "B", groups)] + stack[1:],
                                height=5, width=5, channel_groups=groups)


def test_conv_checker_names_the_pixel_below():
  mask = M.conv_mask(3, 3, 1, 1, "A")
  mask[2, 1] = 1.0  # tap on the pixel below the centre
  with pytest.raises(M.AutoregressiveError) as err:
    M.check_conv_autoregressive(mask, height=4, width=5)
  msg = str(err.value)
  assert "15 forbidden connection(s)" in msg  # one per pixel that has a row below: 3 * 5
  assert ("output unit 0 (pixel (0, 0), position 0) sees input feature 5 "
          "(pixel (1, 0), position 5) directly through masks[0]") in msg


def _down_shift_dense(h, w, c):
  s = np.zeros((h, w, c, h, w, c), bool)
  for i in range(1, h):
    for j in range(w):
      s[i - 1, j, :, i, j, :] = np.eye(c, dtype=bool)
  return s.reshape(h * w * c, h * w * c)


def _gated_stack_connectivity(num_layers, h, w, f=2):
  vert = M.unroll_conv_mask(M.vertical_stack_mask(3, 3, 1, f), h, w)
  horiz = M.unroll_conv_mask(M.horizontal_stack_mask(3, "A", 1, f), h, w)
  v2h = _down_shift_dense(h, w, f) @ M.unroll_conv_mask(np.ones((1, 1, f, f)), h, w)
  horiz = horiz | M.connectivity([vert, v2h])
  for _ in range(num_layers - 1):
    vert = M.connectivity([vert, M.unroll_conv_mask(M.vertical_stack_mask(3, 3, f, f), h, w)])
    hb = M.unroll_conv_mask(M.horizontal_stack_mask(3, "B", f, f), h, w)
    horiz = M.connectivity([horiz, hb]) | M.connectivity([vert, v2h])
  return horiz


def test_gated_pixelcnn_stacks_have_no_blind_spot():
  h = w = 7
  layers = 2
  conn = _gated_stack_connectivity(layers, h, w)
  M.check_autoregressive([conn], in_dims=np.arange(h * w), out_dims=np.repeat(
      np.arange(h * w), 2), ordering=np.arange(h * w))
  # Pixel (i, j) sees exactly: row i, cols j-L..j-1, and rows i-L-1..i-1, cols j-L..j+L.
  i, j = 4, 3
  seen = conn[:, (i * w + j) * 2].reshape(h, w)
  want = np.zeros((h, w), bool)
  want[i, j - layers:j] = True
  want[i - layers - 1:i, j - layers:j + layers + 1] = True
  np.testing.assert_array_equal(seen, want)
  # The plain PixelCNN stack with the same depth misses (i-1, j+2): its blind spot.
  pix = M.connectivity([M.unroll_conv_mask(M.conv_mask(3, 3, 1, 1, "A"), h, w),
                        M.unroll_conv_mask(M.conv_mask(3, 3, 1, 1, "B"), h, w)])
  assert not pix[(i - 1) * w + j + 2, i * w + j] and seen[i - 1, j + 2]

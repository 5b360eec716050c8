"""Tests for ar_jax.nn.skew: skew / unskew are exact inverses, put pixel (i, j) at
column i + j, and have exactly the expected Jacobian zero pattern."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ar_jax import nn as arnn
from ar_jax.nn import skew as sk


def _image(b, h, w, c, seed=0):
  return jax.random.normal(jax.random.key(seed), (b, h, w, c))


def _expected_skew_jacobian(h, w):
  """d skew(x)[i, k] / d x[i2, j] for one image and channel, by the definition."""
  jac = np.zeros((h, w + h - 1, h, w))
  for i in range(h):
    for j in range(w):
      jac[i, i + j, i, j] = 1.0
  return jac


@pytest.mark.parametrize("hw", [(1, 1), (3, 3), (3, 4), (4, 3), (1, 5), (5, 1)])
def test_unskew_inverts_skew_exactly(hw):
  h, w = hw
  x = _image(2, h, w, 3)
  y = sk.skew(x)
  assert y.shape == (2, h, w + h - 1, 3)
  np.testing.assert_array_equal(sk.unskew(y, w), x)


def test_skew_small_example():
  x = jnp.arange(1, 7, dtype=jnp.float32).reshape(1, 2, 3, 1)  # [[1, 2, 3], [4, 5, 6]]
  np.testing.assert_array_equal(sk.skew(x)[0, :, :, 0], [[1, 2, 3, 0], [0, 4, 5, 6]])
  x = jnp.arange(1, 7, dtype=jnp.float32).reshape(1, 3, 2, 1)  # [[1, 2], [3, 4], [5, 6]]
  np.testing.assert_array_equal(sk.skew(x)[0, :, :, 0],
                                [[1, 2, 0, 0], [0, 3, 4, 0], [0, 0, 5, 6]])


def test_skew_keeps_batch_and_channels_apart():
  x = _image(3, 3, 4, 2)
  y = sk.skew(x)
  for b in range(3):
    for c in range(2):
      np.testing.assert_array_equal(y[b:b + 1, ..., c:c + 1], sk.skew(x[b:b + 1, ..., c:c + 1]))


def test_skew_columns_are_image_diagonals():
  h, w = 4, 3
  idx = jnp.arange(1, h * w + 1, dtype=jnp.float32).reshape(1, h, w, 1)  # 0 marks padding
  y = np.asarray(sk.skew(idx)[0, :, :, 0])
  for k in range(w + h - 1):
    got = [(int(v) - 1) // w for v in y[:, k] if v], [(int(v) - 1) % w for v in y[:, k] if v]
    want = [(i, k - i) for i in range(h) if 0 <= k - i < w]
    assert list(zip(*got)) == want, f"column {k}"
    # Row i of column k is pixel (i, k - i): a scan over k sees each diagonal top to bottom.
    for i, j in want:
      assert y[i, k] == i * w + j + 1


def test_skew_jacobian_zero_pattern_exact():
  h, w = 3, 4
  x = _image(1, h, w, 1)[0, ..., 0]
  jac = jax.jacobian(lambda x: sk.skew(x[None, ..., None])[0, ..., 0])(x)
  expected = _expected_skew_jacobian(h, w)
  np.testing.assert_array_equal(jac, expected)  # one 1 per image entry, nothing else
  padding = ~sk.skew_mask(h, w)
  assert padding.sum() == h * (h - 1)
  np.testing.assert_array_equal(np.asarray(jac)[padding], 0.0)  # padding depends on no input


def test_unskew_jacobian_zero_pattern_exact():
  h, w = 3, 4
  y = sk.skew(_image(1, h, w, 1))[0, ..., 0]
  jac = np.asarray(jax.jacobian(lambda y: sk.unskew(y[None, ..., None], w)[0, ..., 0])(y))
  expected = _expected_skew_jacobian(h, w).transpose(2, 3, 0, 1)  # [out i, j, in i, k]
  np.testing.assert_array_equal(jac, expected)
  padding = ~sk.skew_mask(h, w)
  np.testing.assert_array_equal(jac[:, :, padding], 0.0)  # no output reads the padding


def test_skew_mask_marks_data():
  mask = sk.skew_mask(2, 3)
  np.testing.assert_array_equal(mask, [[1, 1, 1, 0], [0, 1, 1, 1]])
  x = jnp.ones((1, 3, 4, 1))
  np.testing.assert_array_equal(sk.skew(x)[0, ..., 0] != 0, sk.skew_mask(3, 4))


def test_jit_matches_eager():
  x = _image(2, 3, 4, 2)
  y = sk.skew(x)
  np.testing.assert_array_equal(jax.jit(sk.skew)(x), y)
  np.testing.assert_array_equal(jax.jit(sk.unskew, static_argnums=1)(y, 4), sk.unskew(y, 4))


def test_bad_input_raises_readable_errors():
  with pytest.raises(ValueError, match=r"skew: x must be 4-D \[B, H, W, C\], got shape \(3, 4\)"):
    sk.skew(jnp.ones((3, 4)))
  with pytest.raises(ValueError, match=r"unskew: x must be 4-D \[B, H, W \+ H - 1, C\]"):
    sk.unskew(jnp.ones((3, 6, 1)), 4)
  with pytest.raises(ValueError, match=r"y has 6 columns, expected .* = 5 for width=3"):
    sk.unskew(jnp.ones((1, 3, 6, 1)), 3)
  with pytest.raises(ValueError, match="width must be a positive int"):
    sk.unskew(jnp.ones((1, 3, 6, 1)), 0)
  with pytest.raises(ValueError, match="height must be a positive int"):
    sk.skew_mask(0, 3)


def test_module_not_hidden_by_a_function():
  # `from ar_jax.nn import skew` must stay the module: a same-named re-export would hide it.
  assert arnn.skew is sk and callable(sk.skew) and callable(sk.unskew)

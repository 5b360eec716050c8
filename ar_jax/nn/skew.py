"""Skew / unskew of images for the Diagonal BiLSTM (PixelRNN).

`skew` shifts row i of an image right by i, so that each diagonal of the image
(the pixels with i + j == k) becomes column k of the skewed image; a scan along
the skewed width then visits the image one diagonal at a time. `unskew` is its
exact inverse. Both are a pad and reshapes (no gathers, no loops), so each
output entry is exactly one input entry or a structural zero.

An image of H rows and W columns skews to H + W - 1 columns (2W - 1 for a
square image):

    x_BxHxWxC                         y_BxHxSxC, S = W + H - 1
    row 0:  a b c                     a b c . .
    row 1:  d e f        skew ->      . d e f .
    row 2:  g h i                     . . g h i

The right-to-left direction of the Diagonal BiLSTM must have its (unskewed)
output shifted down one row before it is added to the left-to-right one, so
that pixel (i, j) never sees pixels to its right in row i. That shift is
`ar_jax.nn.causal.down_shift` (row i holds input row i - 1, row 0 zeros).
"""

import jax.numpy as jnp
import numpy as np

from ar_jax.masks.orderings import positive_int
from ar_jax.nn import masked


def skewed_width(height, width):
  """Width of the skewed image: width + height - 1."""
  positive_int(height, "height")
  positive_int(width, "width")
  return width + height - 1


def skew(x_BxHxWxC):
  """[B, H, W, C] -> [B, H, W + H - 1, C]; out[b, i, i + j, c] = x[b, i, j, c], zeros elsewhere.

  Pads each row with H zeros on the right, flattens rows and re-reads the
  first H * (W + H - 1) entries in rows of W + H - 1: entry (i, j) sits at
  flat index i (W + H) + j = i (W + H - 1) + (i + j).
  """
  masked.check_rank("skew", x_BxHxWxC, 4, "[B, H, W, C]")
  b, h, w, c = x_BxHxWxC.shape
  s = skewed_width(h, w)
  padded_BxHxWHxC = jnp.pad(x_BxHxWxC, ((0, 0), (0, 0), (0, h), (0, 0)))
  flat_BxNxC = padded_BxHxWHxC.reshape(b, h * (w + h), c)[:, :h * s]
  return flat_BxNxC.reshape(b, h, s, c)


def unskew(y_BxHxSxC, width):
  """[B, H, width + H - 1, C] -> [B, H, width, C]; out[b, i, j, c] = y[b, i, i + j, c].

  Inverse of `skew`: entries of y outside `skew_mask` are dropped. Appends H
  zeros to the flattened rows and re-reads them in rows of width + H, of
  which the first `width` columns are the image.
  """
  masked.check_rank("unskew", y_BxHxSxC, 4, "[B, H, W + H - 1, C]")
  b, h, s, c = y_BxHxSxC.shape
  if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
    raise ValueError(f"unskew: width must be a positive int (the unskewed image width), "
                     f"got {width!r}")
  if s != width + h - 1:
    raise ValueError(f"unskew: y has {s} columns, expected width + height - 1 = "
                     f"{width} + {h} - 1 = {width + h - 1} for width={width} (y is "
                     f"[B, H, W + H - 1, C] as `skew` returns); pass the width of the "
                     f"image that was skewed")
  flat_BxNxC = jnp.pad(y_BxHxSxC.reshape(b, h * s, c), ((0, 0), (0, h), (0, 0)))
  return flat_BxNxC.reshape(b, h, width + h, c)[:, :, :width]


def skew_mask(height, width):
  """Bool [height, width + height - 1]: True where `skew` places image data (i <= k < i + width)."""
  s = skewed_width(height, width)
  i_Hx1 = np.arange(height)[:, None]
  k_1xS = np.arange(s)[None, :]
  return (k_1xS >= i_Hx1) & (k_1xS < i_Hx1 + width)

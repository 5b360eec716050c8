"""Per-location masks of the locally masked convolution (LMConv), from a pixel order.

A locally masked convolution applies a different kernel mask at every output
pixel, so that any pixel order, not only raster, is autoregressive. For a
kh x kw kernel with dilation d, tap (a, b) of output pixel (i, j) reads the
neighbour pixel (i + (a - kh // 2) * d, j + (b - kw // 2) * d). The tap is on
iff that neighbour is inside the image and is generated strictly earlier than
(i, j) (mask "A") or earlier or the same pixel (mask "B").

The centre tap is the output pixel itself at every location, so its mask does
not depend on the order: within the pixel, channel groups (R, G, B) connect as
at the centre of `conv.conv_mask` (`centre_tap_mask`). Under the raster order
the per-location masks equal `conv.conv_mask` with zero padding.

Taps are flattened row-major: tap t = a * kw + b.
"""

import numpy as np

from ar_jax.masks import conv, orderings


def kernel_pair(kernel_size, name="kernel_size"):
  """(kh, kw) from an odd int or a pair of odd ints; raises a readable error otherwise."""
  ks = (kernel_size, kernel_size) if isinstance(kernel_size, (int, np.integer)) else (
      tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else ())
  if len(ks) != 2 or any(isinstance(k, bool) or not isinstance(k, (int, np.integer))
                         or k < 1 or k % 2 == 0 for k in ks):
    raise ValueError(f"{name} must be an odd int or a pair of odd ints (the kernel centre "
                     f"is the output pixel), got {kernel_size!r}")
  return int(ks[0]), int(ks[1])


def _check_mask_type(mask_type):
  if mask_type not in ("A", "B"):
    raise ValueError(f"mask_type must be 'A' (strictly earlier pixels) or 'B' (earlier or "
                     f"the same pixel), got {mask_type!r}")


def tap_offsets(kernel_size, dilation=1):
  """Pixel offset (di, dj) that every tap reads, int [kh * kw, 2]."""
  kh, kw = kernel_pair(kernel_size)
  orderings.positive_int(dilation, "dilation")
  a, b = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
  return np.stack([(a - kh // 2) * dilation, (b - kw // 2) * dilation], -1).reshape(-1, 2)


def local_masks(order, height, width, kernel_size, dilation=1, mask_type="A"):
  """Per-location tap masks of a pixel order, bool [H * W, kh * kw].

  Args:
    order: a permutation of range(H * W) listing the pixels (flat row-major
      indices over (H, W)) in generation order, e.g.
      `get_ordering("s_curve", (H, W))`.
    height, width: image size.
    kernel_size: odd int or (kh, kw) of odd ints.
    dilation: spacing of the taps, int >= 1.
    mask_type: "A" (a tap is on iff its pixel is generated strictly before the
      output pixel) or "B" (before or the same pixel).
  Returns:
    mask[p, t]: tap t (= a * kw + b) of output pixel p = i * W + j is on.
    Taps outside the image are off.
  """
  orderings.positive_int(height, "height")
  orderings.positive_int(width, "width")
  _check_mask_type(mask_type)
  order = np.asarray(order)
  if order.size != height * width:
    raise ValueError(f"order must list the {height}x{width} = {height * width} pixels "
                     f"(a pixel order over (H, W), e.g. get_ordering(spec, ({height}, "
                     f"{width}))), got {order.size} entries")
  pos = orderings.positions(order.reshape(-1)).reshape(height, width)
  offsets = tap_offsets(kernel_size, dilation)
  i, j = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  ni = i[..., None] + offsets[:, 0]  # [H, W, T]
  nj = j[..., None] + offsets[:, 1]
  inside = (ni >= 0) & (ni < height) & (nj >= 0) & (nj < width)
  npos = pos[np.clip(ni, 0, height - 1), np.clip(nj, 0, width - 1)]
  earlier = npos < pos[..., None] if mask_type == "A" else npos <= pos[..., None]
  return (inside & earlier).reshape(height * width, -1)


def centre_tap_mask(in_channels, out_channels, mask_type="A", channel_groups=1):
  """Channel connections of the centre tap (the pixel itself), float32 [Cin, Cout].

  Output group g sees input groups < g (mask "A") or <= g (mask "B"), as at
  the centre of `conv.conv_mask`. With one group, mask A is all zeros and
  mask B all ones.
  """
  _check_mask_type(mask_type)
  return conv.conv_mask(1, 1, in_channels, out_channels, mask_type, channel_groups)[0, 0]


def local_kernel_mask(kernel_size, in_channels, out_channels, mask_type="A",
                      channel_groups=1):
  """The order-independent part of the kernel mask, float32 [kh, kw, Cin, Cout].

  Ones at every off-centre tap (their pixels are gated per location by
  `local_masks`); `centre_tap_mask` at the centre.
  """
  kh, kw = kernel_pair(kernel_size)
  mask = np.ones((kh, kw, in_channels, out_channels), np.float32)
  mask[kh // 2, kw // 2] = centre_tap_mask(in_channels, out_channels, mask_type,
                                           channel_groups)
  return mask


def raster_live_taps(kernel_size, mask_type="A", channel_groups=1):
  """The taps that the raster order can switch on, int [L], row-major.

  The taps where `conv.conv_mask` has any connection: the rows above the
  centre, the taps left of it, and the centre unless it is all zeros (mask A
  with one channel group): 4 of a 3x3 kernel's 9 taps for mask A, 5 for mask B.
  """
  kh, kw = kernel_pair(kernel_size)
  g = channel_groups
  kmask = conv.conv_mask(kh, kw, g, g, mask_type, g)
  return np.flatnonzero(kmask.reshape(kh * kw, -1).any(-1)).astype(np.int64)

"""PixelCNN-style convolution masks and their checker.

Kernels are HWIO, [kernel_h, kernel_w, Cin, Cout], used with SAME padding, so
the kernel centre sits on the output pixel. Pixels are generated in raster
order; within a pixel, channels are split into `channel_groups` contiguous
groups (e.g. R, G, B) generated in turn. Data dim of (pixel p, group g) is
p * channel_groups + g.
"""

import numpy as np

from ar_jax.masks import check


def _check_kernel(kernel_h, kernel_w):
  for name, k in (("kernel_h", kernel_h), ("kernel_w", kernel_w)):
    if not isinstance(k, (int, np.integer)) or k < 1 or k % 2 == 0:
      raise ValueError(f"{name} must be a positive odd int (the centre is the "
                       f"current pixel), got {k!r}")


def _groups(channels, channel_groups, name):
  if not isinstance(channels, (int, np.integer)) or channels < 1:
    raise ValueError(f"{name} must be a positive int, got {channels!r}")
  if channels % channel_groups:
    raise ValueError(f"{name}={channels} must be divisible by "
                     f"channel_groups={channel_groups}")
  return np.arange(channels) // (channels // channel_groups)


def conv_mask(kernel_h, kernel_w, in_channels, out_channels, mask_type="A",
              channel_groups=1):
  """PixelCNN mask, float32 [kernel_h, kernel_w, in_channels, out_channels].

  Rows above the centre and pixels left of it are fully visible; nothing below
  or to the right is. At the centre, output group g sees input groups < g
  (type "A", first layer: a pixel must not see itself) or <= g (type "B").
  For a 3x3 kernel with one group:

      type A        type B
      1 1 1         1 1 1
      1 0 0         1 1 0
      0 0 0         0 0 0

  Args:
    kernel_h, kernel_w: odd kernel sizes.
    in_channels, out_channels: must be divisible by `channel_groups`.
    mask_type: "A" or "B".
    channel_groups: number of contiguous channel groups (3 for RGB).
  """
  _check_kernel(kernel_h, kernel_w)
  if mask_type not in ("A", "B"):
    raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
  if not isinstance(channel_groups, (int, np.integer)) or channel_groups < 1:
    raise ValueError(f"channel_groups must be a positive int, got {channel_groups!r}")
  g_in = _groups(in_channels, channel_groups, "in_channels")
  g_out = _groups(out_channels, channel_groups, "out_channels")
  ch, cw = kernel_h // 2, kernel_w // 2
  mask = np.zeros((kernel_h, kernel_w, in_channels, out_channels), np.float32)
  mask[:ch] = 1.0
  mask[ch, :cw] = 1.0
  centre = g_in[:, None] < g_out[None, :] if mask_type == "A" else (
      g_in[:, None] <= g_out[None, :])
  mask[ch, cw] = centre
  return mask


def vertical_stack_mask(kernel_h, kernel_w, in_channels=1, out_channels=1):
  """Gated PixelCNN vertical stack mask, float32 [kh, kw, Cin, Cout].

  Convention: rows up to and including the centre row are visible, all
  columns. The vertical stack only ever feeds itself unshifted; its output
  must be shifted down one row (`ar_jax.nn.down_shift`) before it enters the
  horizontal stack, so pixel (i, j) then sees every row < i across the whole
  kernel width: no blind spot. For 3x3:

      1 1 1
      1 1 1
      0 0 0
  """
  _check_kernel(kernel_h, kernel_w)
  _groups(in_channels, 1, "in_channels")
  _groups(out_channels, 1, "out_channels")
  mask = np.zeros((kernel_h, kernel_w, in_channels, out_channels), np.float32)
  mask[:kernel_h // 2 + 1] = 1.0
  return mask


def horizontal_stack_mask(kernel_w, mask_type="B", in_channels=1, out_channels=1,
                          channel_groups=1):
  """Gated PixelCNN horizontal stack mask, float32 [1, kw, Cin, Cout].

  A 1-row `conv_mask`: pixels left of the centre in the current row, plus the
  centre per `mask_type`/`channel_groups`. Type "A" for the first layer. For
  kernel_w=3, one group: type A = [[1 0 0]], type B = [[1 1 0]].
  """
  return conv_mask(1, kernel_w, in_channels, out_channels, mask_type, channel_groups)


def unroll_conv_mask(mask, height, width):
  """Dense connectivity of a SAME-padded conv mask on a height x width image.

  Args:
    mask: [kh, kw, Cin, Cout], nonzero = connected; odd kh, kw.
    height, width: image size.
  Returns:
    bool [H*W*Cin, H*W*Cout]; row (i*W + j)*Cin + c is input pixel (i, j)
    channel c, columns likewise for outputs.
  """
  m = np.asarray(mask) != 0
  if m.ndim != 4:
    raise ValueError(f"mask must be [kh, kw, Cin, Cout], got shape {m.shape}")
  kh, kw, cin, cout = m.shape
  _check_kernel(kh, kw)
  dense = np.zeros((height, width, cin, height, width, cout), bool)
  oi, oj = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  for a in range(kh):
    for b in range(kw):
      si, sj = oi + a - kh // 2, oj + b - kw // 2
      ok = (si >= 0) & (si < height) & (sj >= 0) & (sj < width)
      dense[si[ok], sj[ok], :, oi[ok], oj[ok], :] |= m[a, b]
  return dense.reshape(height * width * cin, height * width * cout)


def image_feature_dims(height, width, channels, channel_groups=1):
  """Data dim of every flattened (pixel, channel) feature, int [H*W*C]."""
  g = _groups(channels, channel_groups, "channels")
  pixel = np.arange(height * width)[:, None]
  return (pixel * channel_groups + g[None, :]).reshape(-1)


def check_conv_autoregressive(masks, *, height, width, channel_groups=1):
  """`check_autoregressive` for a stack of conv masks, unrolled on a small image.

  Args:
    masks: one [kh, kw, Cin, Cout] mask or a list applied in sequence.
    height, width: test image size (a few pixels more than the kernel).
    channel_groups: groups of the data channels (3 for RGB); the ordering is
      raster order over pixels, then groups.
  Raises:
    AutoregressiveError naming the offending (feature, output) pairs; feature
    and unit indices are flattened (pixel, channel), dims are named by pixel.
  """
  if isinstance(masks, np.ndarray):
    masks = [masks]
  dense = [unroll_conv_mask(m, height, width) for m in masks]
  num_dims = height * width * channel_groups
  names = [f"pixel ({d // channel_groups // width}, {d // channel_groups % width})"
           + (f" group {d % channel_groups}" if channel_groups > 1 else "")
           for d in range(num_dims)]
  check.check_autoregressive(
      dense,
      in_dims=image_feature_dims(height, width, np.shape(masks[0])[2], channel_groups),
      out_dims=image_feature_dims(height, width, np.shape(masks[-1])[3], channel_groups),
      ordering=np.arange(num_dims), dim_names=names)

"""Locally masked 2-D convolution (LMConv): a different kernel mask at every pixel.

`LocallyMaskedConv2D` gathers each output pixel's kh x kw (dilated) patch of
shifted views of the zero-padded input (im2col), multiplies it by that
pixel's tap mask, and applies one matmul with the kernel
[kh * kw * Cin, Cout]. The per-location masks come from a pixel order,
`ar_jax.masks.local_masks`, and are passed at call time (they may be traced,
e.g. picked per batch from a stack of orders); masks are never params.

The kernel is declared HWIO [kh, kw, Cin, Cout] by `masked_kernel`, as
`MaskedConv2D` declares it, so the two layers take the same params. Its
order-independent mask is `ar_jax.masks.local_kernel_mask`: the centre tap,
which is the output pixel itself everywhere, connects channel groups
(R -> G -> B) as `conv_mask` does at its centre; every other tap connects all
channels wherever the per-location mask switches it on. The per-location
mask's centre column is therefore not read.

With `fixed_raster=True` the layer uses the raster order's masks, which equal
`conv_mask` with zero padding, and gathers only the taps that can be on
(`ar_jax.masks.raster_live_taps`: 5 of a 3x3 kernel's 9 for mask B, 4 for
mask A); no mask is passed.

Weight norm (`weight_norm=True`) takes each output unit's norm over the
weights some location may use (the kernel times its order-independent mask,
or the raster mask with `fixed_raster`).
"""

from typing import Any, Callable, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax.masks import conv as conv_masks
from ar_jax.masks import local as local_masks
from ar_jax.nn import masked


def _patches(x, offsets, pad):
  """Shifted views of x [B, H, W, C] at `offsets` [T, 2]: [B, H, W, T, C]."""
  _, h, w, _ = x.shape
  ph, pw = pad
  xp = jnp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
  return jnp.stack([xp[:, ph + di:ph + di + h, pw + dj:pw + dj + w]
                    for di, dj in offsets], axis=3)


class LocallyMaskedConv2D(nn.Module):
  """NHWC stride-1 convolution, SAME-size output, one tap mask per output pixel.

  Attributes:
    features: output channels Cout.
    kernel_size: odd int or (kh, kw) of odd ints.
    mask_type: "A" (first layer: a pixel does not see itself) or "B"; sets
      the centre tap's channel-group connections (see module docstring).
    dilation: tap spacing, int >= 1 (zero padding kernel // 2 * dilation).
    channel_groups: contiguous channel groups of Cin and Cout (3 for RGB).
    fixed_raster: use the raster order's masks over the live taps only.
    use_bias, weight_norm: as in `ar_jax.nn.masked`.
  """
  features: int
  kernel_size: Union[int, Sequence[int]]
  mask_type: str
  dilation: int = 1
  channel_groups: int = 1
  fixed_raster: bool = False
  use_bias: bool = True
  weight_norm: bool = False
  kernel_init: Callable = masked.DEFAULT_KERNEL_INIT
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask=None):
    """Applies the layer.

    Args:
      x: [B, H, W, Cin].
      mask: [H * W, kh * kw] per-location tap mask (bool or float, may be
        traced), e.g. `ar_jax.masks.local_masks(order, H, W, kernel_size,
        dilation, mask_type)`; must be None with `fixed_raster`.
    Returns:
      [B, H, W, Cout].
    """
    masked.check_rank("LocallyMaskedConv2D", x, 4, "[B, H, W, C]")
    kh, kw = local_masks.kernel_pair(self.kernel_size, "LocallyMaskedConv2D: kernel_size")
    offsets = local_masks.tap_offsets((kh, kw), self.dilation)
    pad = (kh // 2 * self.dilation, kw // 2 * self.dilation)
    b, h, w, cin = x.shape
    shape = (kh, kw, cin, self.features)
    x = x.astype(self.dtype)

    if self.fixed_raster:
      if mask is not None:
        raise ValueError("LocallyMaskedConv2D: fixed_raster=True uses the raster order's "
                         "masks; pass mask=None, or set fixed_raster=False to pass masks")
      kmask = conv_masks.conv_mask(kh, kw, cin, self.features, self.mask_type,
                                   self.channel_groups)
      kernel = masked.masked_kernel(self, shape, kmask, (0, 1, 2))
      live = local_masks.raster_live_taps((kh, kw), self.mask_type, self.channel_groups)
      patches = _patches(x, offsets[live], pad)
      kernel = kernel.reshape(kh * kw, cin, self.features)[live]
    else:
      if mask is None:
        raise ValueError("LocallyMaskedConv2D: no mask given; pass mask= of shape "
                         f"(H * W, kh * kw) = ({h * w}, {kh * kw}) from "
                         "ar_jax.masks.local_masks, or set fixed_raster=True")
      if tuple(np.shape(mask)) != (h * w, kh * kw):
        raise ValueError(f"LocallyMaskedConv2D: mask must have shape (H * W, kh * kw) = "
                         f"({h * w}, {kh * kw}), got {tuple(np.shape(mask))}")
      kmask = local_masks.local_kernel_mask((kh, kw), cin, self.features, self.mask_type,
                                            self.channel_groups)
      kernel = masked.masked_kernel(self, shape, kmask, (0, 1, 2))
      tap_mask = jnp.asarray(mask, self.dtype).at[:, kh // 2 * kw + kw // 2].set(1.0)
      patches = _patches(x, offsets, pad) * tap_mask.reshape(1, h, w, kh * kw, 1)
      kernel = kernel.reshape(kh * kw, cin, self.features)

    taps = patches.shape[3]
    y = jax.lax.dot_general(patches.reshape(b, h, w, taps * cin),
                            kernel.reshape(taps * cin, self.features).astype(self.dtype),
                            (((3,), (0,)), ((), ())))
    return masked.add_bias(self, y)

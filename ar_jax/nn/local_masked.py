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

One pixel at a time (cached samplers): `padding="VALID"` adds no zeros and
gives one output per full window, and `at_pixel(window, mask_row)` is the
layer's output at one pixel from the window of the zero-padded input map
centred on it, [B, (kh - 1) * d + 1, (kw - 1) * d + 1, Cin], under that
pixel's row of the per-location mask: the same value `__call__` gives there.
"""

from typing import Any, Callable, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax.masks import conv as conv_masks
from ar_jax.masks import local as local_masks
from ar_jax.nn import masked


def _patches(x, offsets, centre, pad):
  """Shifted views of x [B, H, W, C] at `offsets` [T, 2]: [B, H', W', T, C].

  x gets `pad` = (ph, pw) zeros on each side; output pixel (i, j) is the
  window position whose centre is (i + centre[0], j + centre[1]) of the
  padded map, so H' = H + 2 ph - 2 centre[0] (H with SAME padding).
  """
  ph, pw = pad
  ch, cw = centre
  xp = jnp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0))) if ph or pw else x
  h, w = xp.shape[1] - 2 * ch, xp.shape[2] - 2 * cw
  return jnp.stack([xp[:, ch + di:ch + di + h, cw + dj:cw + dj + w]
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
  def __call__(self, x, mask=None, padding="SAME"):
    """Applies the layer.

    Args:
      x: [B, H, W, Cin].
      mask: [H' * W', kh * kw] per-location tap mask of the H' x W' output
        pixels (bool or float, may be traced), e.g.
        `ar_jax.masks.local_masks(order, H, W, kernel_size, dilation,
        mask_type)`; must be None with `fixed_raster`.
      padding: "SAME" (zeros kernel // 2 * dilation on each side; H' x W' =
        H x W) or "VALID" (no zeros; one output per full window, H' = H -
        (kh - 1) * dilation): a cached sampler's window of an already padded
        map gives the SAME output at the window centre.
    Returns:
      [B, H', W', Cout].
    """
    masked.check_rank("LocallyMaskedConv2D", x, 4, "[B, H, W, C]")
    kh, kw = local_masks.kernel_pair(self.kernel_size, "LocallyMaskedConv2D: kernel_size")
    offsets = local_masks.tap_offsets((kh, kw), self.dilation)
    centre = (kh // 2 * self.dilation, kw // 2 * self.dilation)
    if padding not in ("SAME", "VALID"):
      raise ValueError(f"LocallyMaskedConv2D: padding must be 'SAME' or 'VALID', got "
                       f"{padding!r}")
    pad = centre if padding == "SAME" else (0, 0)
    b, h, w, cin = x.shape
    ho, wo = h + 2 * pad[0] - 2 * centre[0], w + 2 * pad[1] - 2 * centre[1]
    if ho < 1 or wo < 1:
      raise ValueError(f"LocallyMaskedConv2D: padding='VALID' needs windows of at least "
                       f"{2 * centre[0] + 1}x{2 * centre[1] + 1} (kernel {kh}x{kw}, dilation "
                       f"{self.dilation}), got x of shape {tuple(x.shape)}")
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
      patches = _patches(x, offsets[live], centre, pad)
      kernel = kernel.reshape(kh * kw, cin, self.features)[live]
    else:
      if mask is None:
        raise ValueError("LocallyMaskedConv2D: no mask given; pass mask= of shape "
                         f"(H' * W', kh * kw) = ({ho * wo}, {kh * kw}) from "
                         "ar_jax.masks.local_masks, or set fixed_raster=True")
      if tuple(np.shape(mask)) != (ho * wo, kh * kw):
        raise ValueError(f"LocallyMaskedConv2D: mask must have shape (H' * W', kh * kw) = "
                         f"({ho * wo}, {kh * kw}) (one row per output pixel, padding="
                         f"{padding!r}), got {tuple(np.shape(mask))}")
      kmask = local_masks.local_kernel_mask((kh, kw), cin, self.features, self.mask_type,
                                            self.channel_groups)
      kernel = masked.masked_kernel(self, shape, kmask, (0, 1, 2))
      tap_mask = jnp.asarray(mask, self.dtype).at[:, kh // 2 * kw + kw // 2].set(1.0)
      patches = _patches(x, offsets, centre, pad) * tap_mask.reshape(1, ho, wo, kh * kw, 1)
      kernel = kernel.reshape(kh * kw, cin, self.features)

    taps = patches.shape[3]
    y = jax.lax.dot_general(patches.reshape(b, ho, wo, taps * cin),
                            kernel.reshape(taps * cin, self.features).astype(self.dtype),
                            (((3,), (0,)), ((), ())))
    return masked.add_bias(self, y)

  def at_pixel(self, window, mask_row=None):
    """The layer's output at one pixel, [B, Cout], from its input window.

    Args:
      window: [B, (kh - 1) * d + 1, (kw - 1) * d + 1, Cin], the window of the
        zero-padded input map (kernel // 2 * dilation zeros on each side)
        centred on the pixel: `x_padded[:, i:i + kh', j:j + kw']` for pixel
        (i, j).
      mask_row: [kh * kw] that pixel's row of the per-location mask (may be
        traced, e.g. `jnp.asarray(mask)[i * W + j]`); None with `fixed_raster`.
    Returns:
      [B, Cout]: `__call__(x, mask)[:, i, j]`.
    """
    kh, kw = local_masks.kernel_pair(self.kernel_size, "LocallyMaskedConv2D: kernel_size")
    want = ((kh - 1) * self.dilation + 1, (kw - 1) * self.dilation + 1)
    if window.ndim != 4 or tuple(window.shape[1:3]) != want:
      raise ValueError(f"LocallyMaskedConv2D.at_pixel: window must be [B, {want[0]}, "
                       f"{want[1]}, Cin] (kernel {kh}x{kw}, dilation {self.dilation}), got "
                       f"shape {tuple(np.shape(window))}")
    if mask_row is not None and tuple(np.shape(mask_row)) != (kh * kw,):
      raise ValueError(f"LocallyMaskedConv2D.at_pixel: mask_row must have shape "
                       f"(kh * kw,) = ({kh * kw},), got {tuple(np.shape(mask_row))}")
    mask = None if mask_row is None else jnp.reshape(mask_row, (1, kh * kw))
    return self(window, mask, padding="VALID")[:, 0, 0]

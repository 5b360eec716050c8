"""Shifted convolutions of PixelCNN++ (Salimans et al. 2017): causality by padding, not masks.

A down-shifted conv (kernel 2x3) lets output (r, c) read rows r-1..r, columns
c-1..c+1; a down-right-shifted conv (kernel 2x2) rows r-1..r, columns c-1..c.
Stacked after a first layer that is shifted one more row (`down_shift`) or
column (`right_shift`), the first stream sees only rows above a pixel, the
second also the pixels to its left: no kernel entry is ever masked, so
no FLOP is spent on zeros.

The layers here take their input *already padded* with `pad_shifted` (one
row on top, one column on each side, the one padding every shifted kernel
needs) and run a VALID convolution. A model then computes a whole map, a
row slab or a single position with the same layer, by cutting the padded
window it needs (the cached sampler of `ar_jax.models.pixelcnn_pp` does so).
"""

from typing import Any, Callable, Tuple
import zlib

import flax.linen as nn
import jax
import jax.numpy as jnp

from ar_jax.nn import causal, gated, masked
from ar_jax.nn import dropout as dropout_lib


def right_shift(x):
  """[B, H, W, C] -> column j holds input column j-1 (column 0 zeros)."""
  masked.check_rank("right_shift", x, 4, "[B, H, W, C]")
  return causal.causal_shift(x, axis=2)


def concat_elu(x):
  """ELU of [x, -x] on the last axis (PixelCNN++): keeps both signs' information."""
  return jax.nn.elu(jnp.concatenate([x, -x], axis=-1))


def pad_shifted(x):
  """Pads [B, H, W, C] with zeros: 1 row on top, 1 column left and right."""
  masked.check_rank("pad_shifted", x, 4, "[B, H, W, C]")
  return jnp.pad(x, ((0, 0), (1, 0), (1, 1), (0, 0)))


class ShiftedConv2D(nn.Module):
  """VALID NHWC convolution of an input padded by `pad_shifted` (or a window of it).

  Attributes:
    features: output channels.
    kernel_size: (kh, kw); (2, 3) down-shifted, (2, 2) down-right-shifted,
      (1, 3) and (2, 1) for the first layers.
    stride: 1, or 2 to halve the resolution (PixelCNN++'s downsampling).
    weight_norm: weight normalization (Salimans & Kingma 2016).
  """
  features: int
  kernel_size: Tuple[int, int]
  stride: int = 1
  use_bias: bool = True
  weight_norm: bool = True
  kernel_init: Callable = masked.DEFAULT_KERNEL_INIT
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    """Args: x [B, h, w, Cin], padded. Returns [B, (h-kh)//s+1, (w-kw)//s+1, features]."""
    masked.check_rank("ShiftedConv2D", x, 4, "[B, H, W, C]")
    kh, kw = self.kernel_size
    kernel = masked.masked_kernel(self, (kh, kw, x.shape[-1], self.features), None, (0, 1, 2))
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), kernel.astype(self.dtype), (self.stride, self.stride), "VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return masked.add_bias(self, y)


class ShiftedDeconv2D(nn.Module):
  """Stride-2 transposed convolution that keeps the shifted streams causal.

  Output (r, c) reads input row r // 2 only; columns: kernel width 2 reads
  column c // 2 (down-right stream), width 3 reads columns (c - 1) // 2 ..
  (c + 1) // 2 (down stream, which may look right). Output [B, 2h, 2w, F];
  crop it to the finer level's size (odd sizes round up on the way down).
  """
  features: int
  kernel_size: Tuple[int, int]
  use_bias: bool = True
  weight_norm: bool = True
  kernel_init: Callable = masked.DEFAULT_KERNEL_INIT
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    """Args: x [B, h, w, Cin]. Returns [B, 2h, 2w, features]."""
    masked.check_rank("ShiftedDeconv2D", x, 4, "[B, H, W, C]")
    kh, kw = self.kernel_size
    if kh != 2 or kw not in (2, 3):
      raise ValueError(f"ShiftedDeconv2D: kernel_size must be (2, 2) or (2, 3), got "
                       f"{self.kernel_size}")
    kernel = masked.masked_kernel(self, (kh, kw, x.shape[-1], self.features), None, (0, 1, 2))
    # Zeros between inputs (lhs_dilation) put input (i, j) at (2i, 2j); the
    # padding makes output row r read dilated rows r-1..r, i.e. input r // 2.
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), kernel.astype(self.dtype), (1, 1), ((1, 1), (1, kw - 1)),
        lhs_dilation=(2, 2), dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return masked.add_bias(self, y)


class NiN(nn.Module):
  """Network-in-network: a 1x1 convolution (a dense layer on the last axis)."""
  features: int
  use_bias: bool = True
  weight_norm: bool = True
  kernel_init: Callable = masked.DEFAULT_KERNEL_INIT
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    """Args: x [..., Cin]. Returns [..., features]."""
    kernel = masked.masked_kernel(self, (x.shape[-1], self.features), None, (0,))
    y = jax.lax.dot_general(x.astype(self.dtype), kernel.astype(self.dtype),
                            (((x.ndim - 1,), (0,)), ((), ())))
    return masked.add_bias(self, y)


def gated_resnet(x, key, conv_in, conv_out, *, a=None, nin_a=None, rate=0.0, drop=None,
                 cond=None):
  """PixelCNN++'s gated ResNet layer (PixelCNN++, PixelSNAIL).

      c = celu(conv_in(celu(x)) [+ nin_a(celu(a))]);  z = conv_out(dropout(c)) [+ cond]
      out = x + z_a * sigmoid(z_b)        ([z_a, z_b] halves of z)

  `conv_in`, `conv_out` and `nin_a` are one-argument callables, so the same
  layer serves whole maps and a cached step's pixel. `drop` is the dropout
  key (None: no dropout), folded with crc32(`key`) so every layer draws its own
  mask; `cond` is an additive term already broadcastable to z.
  """
  c1 = conv_in(concat_elu(x))
  if a is not None:
    c1 = c1 + nin_a(concat_elu(a))
  c1 = concat_elu(c1)
  if drop is not None:
    c1 = dropout_lib.dropout(c1, rate, jax.random.fold_in(drop, zlib.crc32(key.encode())))
  z = conv_out(c1)
  if cond is not None:
    z = z + cond
  return gated.gated_residual(x, z, gate=gated.sigmoid_gate)[0]

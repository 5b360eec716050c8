"""Causal pieces of WaveNet / Gated PixelCNN stacks: shifts and the causal 1-D conv."""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from ar_jax.masks import causal as causal_masks
from ar_jax.nn import masked


def causal_shift(x, axis=1):
  """Shifts x by one step along `axis`, zero-filling the start: out[t] = x[t-1]."""
  pad = [(0, 0)] * x.ndim
  pad[axis] = (1, 0)
  return jax.lax.slice_in_dim(jnp.pad(x, pad), 0, x.shape[axis], axis=axis)


def down_shift(x):
  """[B, H, W, C] -> row i holds input row i-1 (row 0 zeros); Gated PixelCNN."""
  masked.check_rank("down_shift", x, 4, "[B, H, W, C]")
  return causal_shift(x, axis=1)


class CausalConv1D(nn.Module):
  """Dilated causal 1-D convolution on [B, T, C] (WaveNet).

  Left-pads by (kernel_size - 1) * dilation so output t depends on inputs
  t, t - d, ..., t - (k-1) d. With `exclusive=True` the input is first shifted
  right by one step (`causal_shift`), so output t sees only inputs < t: use it
  for the first layer on raw data.
  """
  features: int
  kernel_size: int
  dilation: int = 1
  exclusive: bool = False
  use_bias: bool = True
  weight_norm: bool = False
  kernel_init: Callable = masked.DEFAULT_KERNEL_INIT
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    """Args: x [B, T, Cin]. Returns [B, T, features]."""
    masked.check_rank("CausalConv1D", x, 3, "[B, T, C]")
    left, right = causal_masks.causal_conv1d_padding(self.kernel_size, self.dilation)
    if self.exclusive:
      x = causal_shift(x, axis=1)
    kernel = masked.masked_kernel(self, (self.kernel_size, x.shape[-1], self.features), None,
                                  (0, 1))
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), kernel.astype(self.dtype), window_strides=(1,),
        padding=((left, right),), rhs_dilation=(self.dilation,),
        dimension_numbers=("NWC", "WIO", "NWC"))
    return masked.add_bias(self, y)


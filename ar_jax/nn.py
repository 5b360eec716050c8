"""Masked and causal Flax layers for autoregressive models.

Masks (from `ar_jax.masks`) are constant data, held as a plain module attribute
or passed at call time, and applied as `kernel * mask`: they never appear in
`params`, so `model.init` yields only the 'params' collection. Masked weights
get exactly zero gradient, so they stay whatever they were initialized to and
never matter.

Weight normalization (`weight_norm=True`, Salimans & Kingma 2016) uses
kernel = scale * v / ||v * mask|| per output unit, with the norm taken over
the *masked* weights (the ones that are actually used) and `scale` initialized
to 1. A fully masked output unit has norm 0; it gets a zero kernel and finite
gradients instead of NaN.
"""

from typing import Any, Callable, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import masks as masks_lib

_default_kernel_init = nn.initializers.lecun_normal()


def _check_mask(layer, mask, expected, what):
  if tuple(np.shape(mask)) != tuple(expected):
    raise ValueError(
        f"{layer}: mask must have shape {what} = {tuple(expected)}, "
        f"got {tuple(np.shape(mask))}")


def _check_rank(layer, x, rank, layout):
  if x.ndim != rank:
    raise ValueError(f"{layer}: x must be {rank}-D {layout}, got shape {tuple(x.shape)}")


def _kernel(module, shape, mask, norm_axes):
  """Creates the kernel params and returns kernel * mask (weight-normed if asked)."""
  v = module.param("kernel", module.kernel_init, shape, module.param_dtype)
  vm = v if mask is None else v * jnp.asarray(mask, v.dtype)
  if not module.weight_norm:
    return vm
  scale = module.param("scale", nn.initializers.ones, (shape[-1],), module.param_dtype)
  sq = jnp.sum(vm * vm, axis=norm_axes, keepdims=True)
  # Both `where`s are needed: rsqrt(0) is inf, and its gradient would turn
  # into NaN even in the branch that is not selected.
  ok = sq > 0
  inv_norm = jnp.where(ok, jax.lax.rsqrt(jnp.where(ok, sq, 1.0)), 0.0)
  return vm * inv_norm * scale.reshape((1,) * (len(shape) - 1) + (-1,))


def _add_bias(module, y):
  if not module.use_bias:
    return y
  b = module.param("bias", module.bias_init, (module.features,), module.param_dtype)
  return y + b.astype(y.dtype).reshape((1,) * (y.ndim - 1) + (-1,))


class MaskedDense(nn.Module):
  """y = x @ (kernel * mask) + bias, on the last axis of x.

  Attributes:
    features: number of output units OUT.
    mask: [IN, OUT] array (bool or float), or None to pass one at call time
      (e.g. a mask picked by a traced index from a stacked pool).
    use_bias, weight_norm: see module docstring.
  """
  features: int
  mask: Any = None
  use_bias: bool = True
  weight_norm: bool = False
  kernel_init: Callable = _default_kernel_init
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask=None):
    """Args: x [..., IN]; mask: overrides `self.mask`. Returns [..., OUT]."""
    mask = self.mask if mask is None else mask
    if mask is None:
      raise ValueError("MaskedDense: no mask given (set the `mask` attribute or "
                       "pass mask= at call time)")
    in_features = x.shape[-1]
    _check_mask("MaskedDense", mask, (in_features, self.features), "(in_features, features)")
    kernel = _kernel(self, (in_features, self.features), mask, (0,))
    y = jax.lax.dot_general(x.astype(self.dtype), kernel.astype(self.dtype),
                            (((x.ndim - 1,), (0,)), ((), ())))
    return _add_bias(self, y)


def _pair(kernel_size):
  ks = (kernel_size, kernel_size) if isinstance(kernel_size, (int, np.integer)) else (
      tuple(kernel_size))
  if len(ks) != 2 or any(not isinstance(k, (int, np.integer)) or k < 1 or k % 2 == 0
                         for k in ks):
    raise ValueError(f"MaskedConv2D: kernel_size must be an odd int or a pair of odd "
                     f"ints (so SAME padding centres the kernel), got {kernel_size!r}")
  return ks


class MaskedConv2D(nn.Module):
  """NHWC 2-D convolution with kernel * mask and SAME padding.

  SAME padding here is symmetric, kernel_size // 2 on each side, so the kernel
  centre sits on the output pixel; the masks of `ar_jax.masks.conv_mask` rely
  on that. Stride 1.

  Attributes:
    features: output channels Cout.
    kernel_size: odd int or (kh, kw) of odd ints.
    mask: [kh, kw, Cin, Cout] array, or None to pass one at call time.
  """
  features: int
  kernel_size: Union[int, Sequence[int]]
  mask: Any = None
  use_bias: bool = True
  weight_norm: bool = False
  kernel_init: Callable = _default_kernel_init
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask=None):
    """Args: x [B, H, W, Cin]; mask: overrides `self.mask`. Returns [B, H, W, Cout]."""
    _check_rank("MaskedConv2D", x, 4, "[B, H, W, C]")
    kh, kw = _pair(self.kernel_size)
    shape = (kh, kw, x.shape[-1], self.features)
    mask = self.mask if mask is None else mask
    if mask is not None:
      _check_mask("MaskedConv2D", mask, shape, "(kh, kw, in_channels, features)")
    kernel = _kernel(self, shape, mask, (0, 1, 2))
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), kernel.astype(self.dtype), window_strides=(1, 1),
        padding=((kh // 2, kh // 2), (kw // 2, kw // 2)),
        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return _add_bias(self, y)


def causal_shift(x, axis=1):
  """Shifts x by one step along `axis`, zero-filling the start: out[t] = x[t-1]."""
  pad = [(0, 0)] * x.ndim
  pad[axis] = (1, 0)
  return jax.lax.slice_in_dim(jnp.pad(x, pad), 0, x.shape[axis], axis=axis)


def down_shift(x):
  """[B, H, W, C] -> row i holds input row i-1 (row 0 zeros); Gated PixelCNN."""
  _check_rank("down_shift", x, 4, "[B, H, W, C]")
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
  kernel_init: Callable = _default_kernel_init
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x):
    """Args: x [B, T, Cin]. Returns [B, T, features]."""
    _check_rank("CausalConv1D", x, 3, "[B, T, C]")
    left, right = masks_lib.causal_conv1d_padding(self.kernel_size, self.dilation)
    if self.exclusive:
      x = causal_shift(x, axis=1)
    kernel = _kernel(self, (self.kernel_size, x.shape[-1], self.features), None, (0, 1))
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), kernel.astype(self.dtype), window_strides=(1,),
        padding=((left, right),), rhs_dilation=(self.dilation,),
        dimension_numbers=("NWC", "WIO", "NWC"))
    return _add_bias(self, y)


def gated_activation(x):
  """tanh(a) * sigmoid(b) where [a, b] splits the last axis of x in half."""
  if x.shape[-1] % 2:
    raise ValueError(
        f"gated_activation: last axis of x must be even, got shape {tuple(x.shape)}")
  a, b = jnp.split(x, 2, axis=-1)
  return jnp.tanh(a) * jax.nn.sigmoid(b)


__all__ = ["CausalConv1D", "MaskedConv2D", "MaskedDense", "causal_shift", "down_shift",
           "gated_activation"]

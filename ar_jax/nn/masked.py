"""Masked layers: one way to declare masked (and weight-normed) weights.

Masks (from `ar_jax.masks`) are constant data, held as a plain module attribute
or passed at call time (possibly traced, e.g. picked from a MADE pool), and
applied as `kernel * mask` by `masked_kernel`, which every layer here and in
`ar_jax.nn.causal` uses to declare its kernel. Masks never appear in `params`,
so `model.init` yields only the 'params' collection. Masked weights get
exactly zero gradient, so they stay whatever they were initialized to and
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

DEFAULT_KERNEL_INIT = nn.initializers.lecun_normal()


def _check_mask(layer, mask, expected, what):
  if tuple(np.shape(mask)) != tuple(expected):
    raise ValueError(
        f"{layer}: mask must have shape {what} = {tuple(expected)}, "
        f"got {tuple(np.shape(mask))}")


def check_rank(layer, x, rank, layout):
  """Raises a readable error unless x has `rank` axes (`layout` names them)."""
  if x.ndim != rank:
    raise ValueError(f"{layer}: x must be {rank}-D {layout}, got shape {tuple(x.shape)}")


def masked_kernel(module, shape, mask, norm_axes, *, name="kernel", scale_name="scale"):
  """Declares a kernel param of `module` and returns kernel * mask.

  Args:
    module: the layer; reads its `kernel_init`, `param_dtype`, `weight_norm`.
    shape: kernel shape, output units last.
    mask: array broadcastable to `shape` (bool or float, may be traced), or
      None for an unmasked kernel.
    norm_axes: the axes weight norm sums over (all but the last).
    name, scale_name: param names of the kernel and of the weight-norm scale.
  Returns:
    The effective kernel, weight-normed if `module.weight_norm`.
  """
  v = module.param(name, module.kernel_init, shape, module.param_dtype)
  vm = v if mask is None else v * jnp.asarray(mask, v.dtype)
  if not module.weight_norm:
    return vm
  scale = module.param(scale_name, nn.initializers.ones, (shape[-1],), module.param_dtype)
  sq = jnp.sum(vm * vm, axis=norm_axes, keepdims=True)
  # Both `where`s are needed: rsqrt(0) is inf, and its gradient would turn
  # into NaN even in the branch that is not selected.
  ok = sq > 0
  inv_norm = jnp.where(ok, jax.lax.rsqrt(jnp.where(ok, sq, 1.0)), 0.0)
  return vm * inv_norm * scale.reshape((1,) * (len(shape) - 1) + (-1,))


def add_bias(module, y, *, name="bias"):
  """Declares `module`'s bias [features] (if `module.use_bias`) and adds it to y."""
  if not module.use_bias:
    return y
  b = module.param(name, module.bias_init, (module.features,), module.param_dtype)
  return y + b.astype(y.dtype).reshape((1,) * (y.ndim - 1) + (-1,))


class MaskedDense(nn.Module):
  """y = x @ (kernel * mask) + bias, on the last axis of x.

  Attributes:
    features: number of output units OUT.
    mask: [IN, OUT] array (bool or float), or None to pass one at call time
      (e.g. a mask picked by a traced index from a stacked pool).
    use_bias, weight_norm: see module docstring.
    kernel_name, bias_name, scale_name: param names. Only a layer that shares
      its parent's scope (`flax.linen.share_scope`) needs others: MADE keeps
      its flat `kernel_0`, `bias_0`, ... params, and their values, that way.
  """
  features: int
  mask: Any = None
  use_bias: bool = True
  weight_norm: bool = False
  kernel_init: Callable = DEFAULT_KERNEL_INIT
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32
  kernel_name: str = "kernel"
  bias_name: str = "bias"
  scale_name: str = "scale"

  @nn.compact
  def __call__(self, x, mask=None):
    """Args: x [..., IN]; mask: overrides `self.mask`. Returns [..., OUT]."""
    mask = self.mask if mask is None else mask
    if mask is None:
      raise ValueError("MaskedDense: no mask given (set the `mask` attribute or "
                       "pass mask= at call time)")
    in_features = x.shape[-1]
    _check_mask("MaskedDense", mask, (in_features, self.features), "(in_features, features)")
    kernel = masked_kernel(self, (in_features, self.features), mask, (0,),
                           name=self.kernel_name, scale_name=self.scale_name)
    y = jax.lax.dot_general(x.astype(self.dtype), kernel.astype(self.dtype),
                            (((x.ndim - 1,), (0,)), ((), ())))
    return add_bias(self, y, name=self.bias_name)


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
  kernel_init: Callable = DEFAULT_KERNEL_INIT
  bias_init: Callable = nn.initializers.zeros
  dtype: Any = jnp.float32
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x, mask=None, padding="SAME"):
    """Applies the layer.

    Args:
      x: [B, H, W, Cin].
      mask: overrides `self.mask`.
      padding: "SAME" (the layer's definition: output [B, H, W, Cout]) or
        ((top, bottom), (left, right)) zeros added; ((0, 0), (0, 0)) on a
        kh x kw patch of an already padded map gives the SAME output at the
        patch centre (cached samplers compute one position that way).
    Returns:
      [B, H', W', Cout].
    """
    check_rank("MaskedConv2D", x, 4, "[B, H, W, C]")
    kh, kw = _pair(self.kernel_size)
    if padding == "SAME":
      padding = ((kh // 2, kh // 2), (kw // 2, kw // 2))
    shape = (kh, kw, x.shape[-1], self.features)
    mask = self.mask if mask is None else mask
    if mask is not None:
      _check_mask("MaskedConv2D", mask, shape, "(kh, kw, in_channels, features)")
    kernel = masked_kernel(self, shape, mask, (0, 1, 2))
    y = jax.lax.conv_general_dilated(
        x.astype(self.dtype), kernel.astype(self.dtype), window_strides=(1, 1),
        padding=tuple(tuple(p) for p in padding), dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return add_bias(self, y)

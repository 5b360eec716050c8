"""Pieces shared by the convolutional image models (PixelCNN, Gated PixelCNN).

- Input encoding: each channel of a pixel enters the network as one feature,
  its class value scaled to [0, 1] (`k / (K - 1)`; for binary data the bit
  itself), computed from `ARModel.one_hot` so that relaxed one-hot input (the
  causality tests) works too, and the cached samplers use the very same table.
- Channel-grouped masks: the C channels of a pixel are C groups generated in
  turn (R -> G -> B), so every layer's width must be a multiple of C
  (`checks.check_channel_groups`); 1x1 layers are `MaskedDense` with the centre of a type-B
  conv mask (`dense_mask`); the two halves of a gate get the same grouping
  (`gate_mask`), so tanh-unit c and sigmoid-unit c belong to one group.
- Cached sampling: a generation step is one flat dim d of [H, W, C] (pixel
  d // C, channel group d % C); the caches are zero-padded activation maps
  written one position at a time (`write`) and read as kernel-sized patches
  (`patch`), which `MaskedConv2D(..., padding=((0, 0), (0, 0)))` turns into
  the layer's output at the patch centre.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import masks


def value_table(num_classes):
  """float32 [K]: the input feature of class k, k / (K - 1)."""
  return jnp.arange(num_classes, dtype=jnp.float32) / (num_classes - 1)


def image_features(model, x):
  """[B, H, W, C] float features of int classes or a relaxed one-hot x."""
  return jnp.einsum("bhwck,k->bhwc", model.one_hot(x), value_table(model.num_classes))


def dense_mask(in_features, out_features, channels):
  """[IN, OUT] channel-grouped type-B mask of a 1x1 layer (all ones for C = 1)."""
  return masks.conv_mask(1, 1, in_features, out_features, "B", channels)[0, 0]


def gate_mask(mask_half):
  """A mask [..., OUT] for both halves of a gate: [..., 2 OUT], the same groups twice."""
  return np.concatenate([mask_half, mask_half], axis=-1)


def position(dim, input_shape):
  """Flat dim of [H, W, C] -> (row, column, channel), traced int32 scalars."""
  _, w, c = input_shape
  pixel = dim // c
  return pixel // w, pixel % w, dim % c


def write(map_BxHxWxF, value_BxF, row, col):
  """`map` with `value` stored at (row, col) (padded coordinates)."""
  return jax.lax.dynamic_update_slice(map_BxHxWxF, value_BxF[:, None, None, :],
                                      (0, row, col, 0))


def patch(map_BxHxWxF, row, col, height, width):
  """The [B, height, width, F] window of `map` whose top-left corner is (row, col)."""
  b, _, _, f = map_BxHxWxF.shape
  return jax.lax.dynamic_slice(map_BxHxWxF, (0, row, col, 0), (b, height, width, f))


def with_value(patch_BxHxWxF, value_B, row, col, channel):
  """`patch` with `value` at (row, col, channel) of the patch, if that lies inside it.

  Lets a cached step read a patch from the cache before the new value is
  written there. (For big buffers, write the patch back, so that the write
  depends on the read and XLA updates the buffer in place instead of copying
  it every step.)
  """
  shape = patch_BxHxWxF.shape[1:]
  at = ((jax.lax.broadcasted_iota(jnp.int32, shape, 0) == row)
        & (jax.lax.broadcasted_iota(jnp.int32, shape, 1) == col)
        & (jax.lax.broadcasted_iota(jnp.int32, shape, 2) == channel))
  return jnp.where(at[None], value_B[:, None, None, None], patch_BxHxWxF)


NO_PAD = ((0, 0), (0, 0))


def write_row(map_BxHxWxF, row_BxWxF, row, col):
  """`map` with a row of values stored from (row, col) rightwards (padded coordinates)."""
  return jax.lax.dynamic_update_slice(map_BxHxWxF, row_BxWxF[:, None], (0, row, col, 0))


def pixel_ordering(model):
  """Checks `model.ordering`, a pixel order, and stores it normalized; returns it, int [H * W].

  `ordering` is a registered name (`masks.ordering_names()`; "random" draws
  from `model.seed`) or an explicit permutation of the H * W pixels (flat
  row-major over (H, W)); an explicit one is stored as a tuple, which keeps
  the module hashable (a static argument of jitted functions).
  """
  h, w, c = model.input_shape
  spec = model.ordering
  try:
    order = masks.get_ordering(spec, (h, w), seed=model.seed)
  except ValueError as e:
    raise ValueError(
        f"{type(model).__name__}: ordering={spec!r} is not valid for input_shape="
        f"{tuple(model.input_shape)}: {e}. An image model's ordering orders the H * W = "
        f"{h * w} pixels (a pixel's {c} channel(s) follow in turn): pass a registered "
        f"name or a permutation of range({h * w})") from None
  if not isinstance(spec, str):
    object.__setattr__(model, "ordering", tuple(int(p) for p in order))
  return order


def generation_order(pixel_order, channels):
  """The flat dims of [H, W, C] in generation order, int [H * W * C].

  Pixels in `pixel_order`, the C channels of each in turn.
  """
  pixel_order = np.asarray(pixel_order, np.int64)
  return (pixel_order[:, None] * channels + np.arange(channels)).reshape(-1)

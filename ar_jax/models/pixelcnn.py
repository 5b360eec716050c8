"""PixelCNN (van den Oord et al. 2016, "Pixel Recurrent Neural Networks").

A 7x7 type-A masked convolution, residual blocks (ReLU, 1x1 down to h
units, ReLU, 3x3 type-B masked conv, ReLU, 1x1 up to 2h, added to the
stream; the paper's Figure 5), and two ReLU + 1x1 output layers. Pixels are
generated in raster order, or in any pixel order (`ordering=`), and the C
channels of a pixel in turn (R -> G -> B): every layer is channel-grouped
(`ar_jax.masks.conv_mask(..., channel_groups=C)`), so the outputs of channel
c see the channels < c of the current pixel. Outputs per (pixel, channel): a
Bernoulli logit (K = 2) or K softmax logits (256 for 8-bit data).

Any order (Jain et al. 2020): under a non-raster `ordering` the masked
convolutions are `ar_jax.nn.LocallyMaskedConv2D` with that order's
per-location masks (`ar_jax.masks.local_masks`: mask A in the first layer,
B in the blocks), with the same channel groups and the same params (names,
shapes, init) as under raster, so weights carry over between orders. The
raster model keeps `MaskedConv2D`.

The masked 3x3 stack has a blind spot (pixels up and to the right that no
path reaches, see `gated_pixelcnn` and tests/test_image_models.py; under
another order, the same kind of region of that order).

Cached sampling (Ramachandran et al. 2017): a step computes the network at
the current pixel only. The cache holds, zero-padded, the input map of every
layer wider than 1x1 (the data features and each block's 3x3 input); a step
writes the value just generated, then runs each layer on the kernel-sized
patch around the current pixel, writing each 3x3 input there first. Earlier
pixels' activations are final once computed (nothing later changes them), so
one pass per step reproduces `__call__` at that position. Under any order the
steps run in the order's sequence, each layer at the pixel being generated
under that pixel's local mask (`LocallyMaskedConv2D.at_pixel`); pixels later
in the order are still zeros in the cache, and masked off.
"""

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax import nn as ar_nn
from ar_jax.models import base
from ar_jax.models import checks
from ar_jax.models import conv_image as ci


class PixelCNN(base.ARModel):
  """PixelCNN for binary or K-class images [B, H, W, C].

  Attributes:
    input_shape: (H, W, C).
    num_classes: K values per channel (2: Bernoulli outputs).
    num_blocks: residual blocks (the paper: 15 on CIFAR-10).
    residual_channels: h, the width of the 3x3 convs; the stream has 2h.
    head_channels: width of the hidden 1x1 output layer.
    first_kernel: size of the type-A first convolution (odd).
    kernel_size: size of the blocks' masked convolutions (odd).
    ordering: the pixel order: a registered name (`masks.ordering_names()`:
      "raster" (= "natural"), "s_curve", "hilbert", "spiral", "zigzag",
      "random" (drawn from `seed`), ...) or a permutation of range(H * W)
      (flat row-major pixels); a pixel's channels follow in turn.
    seed: seed of a "random" ordering.
  All widths must be multiples of C (one group of units per channel); the
  defaults (ours: the paper's CIFAR-10 model has 15 blocks) are multiples of 3
  so that RGB models build with them.
  """
  input_shape: tuple
  num_classes: int = 2
  num_blocks: int = 15
  residual_channels: int = 96
  head_channels: int = 384
  first_kernel: int = 7
  kernel_size: int = 3
  ordering: Any = "raster"
  seed: int = 0

  supports_cache: ClassVar[bool] = True

  def __post_init__(self):
    checks.check_input_shape(self, "(H, W, C)", rank=3)
    checks.check_int(self, "num_classes", low=2)
    checks.check_channel_groups(self, "residual_channels", "head_channels")
    checks.check_int(self, "num_blocks", low=0)
    checks.check_int(self, "seed", low=0)
    ci.pixel_ordering(self)
    super().__post_init__()

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  def _pixel_order(self):
    hgt, wid, _ = self.input_shape
    return masks.get_ordering(self.ordering, (hgt, wid), seed=self.seed)

  @property
  def _raster(self):
    order = self._pixel_order()
    return bool(np.array_equal(order, np.arange(order.size)))

  def orderings(self):
    """[1, H * W * C]: the pixels in `ordering`, each pixel's channels in turn."""
    return ci.generation_order(self._pixel_order(), self.input_shape[-1])[None]

  # ---- layers and their (constant) masks ----
  def setup(self):
    h, c = self.residual_channels, self.input_shape[-1]
    p = self.distribution.num_params * c
    if self._raster:
      conv = lambda features, size, mask_type: ar_nn.MaskedConv2D(features, size)
    else:
      conv = lambda features, size, mask_type: ar_nn.LocallyMaskedConv2D(
          features, size, mask_type=mask_type, channel_groups=c)
    self.first = conv(2 * h, self.first_kernel, "A")
    self.down = [ar_nn.MaskedDense(h) for _ in range(self.num_blocks)]
    self.mid = [conv(h, self.kernel_size, "B") for _ in range(self.num_blocks)]
    self.up = [ar_nn.MaskedDense(2 * h) for _ in range(self.num_blocks)]
    self.head = ar_nn.MaskedDense(self.head_channels)
    self.out = ar_nn.MaskedDense(p)

  def _masks(self):
    """The layers' masks; off raster, the convolutions' per-location [H * W, k * k]."""
    (hgt, wid, c), h, k = self.input_shape, self.residual_channels, self.kernel_size
    k1, p = self.first_kernel, self.distribution.num_params * c
    if self._raster:
      first = masks.conv_mask(k1, k1, c, 2 * h, "A", c)
      mid = masks.conv_mask(k, k, h, h, "B", c)
    else:
      order = self._pixel_order()
      first = masks.local_masks(order, hgt, wid, k1, 1, "A")
      mid = masks.local_masks(order, hgt, wid, k, 1, "B")
    return dict(
        first=first, down=ci.dense_mask(2 * h, h, c), mid=mid,
        up=ci.dense_mask(h, 2 * h, c), head=ci.dense_mask(2 * h, self.head_channels, c),
        out=ci.dense_mask(self.head_channels, p, c))

  def _at_pixel(self, layer, window, mask, i, j):
    """`layer`'s output [B, F] at pixel (i, j) from its kernel-sized input window."""
    if self._raster:
      return layer(window, mask=mask, padding=ci.NO_PAD)[:, 0, 0]
    return layer.at_pixel(window, jnp.asarray(mask)[i * self.input_shape[1] + j])

  def _block(self, l, a, m, mid):
    """Residual block l on the stream a [..., 2h]; `mid(u)` applies the 3x3 conv."""
    u = jax.nn.relu(self.down[l](jax.nn.relu(a), mask=m["down"]))
    return a + self.up[l](jax.nn.relu(mid(u)), mask=m["up"])

  def _head(self, a, m):
    return self.out(jax.nn.relu(self.head(jax.nn.relu(a), mask=m["head"])), mask=m["out"])

  def __call__(self, x, cond=None):
    """Params [B, H, W, C, P] of every (pixel, channel) given the earlier ones."""
    self.check_unconditional(cond)
    m = self._masks()
    a = self.first(ci.image_features(self, x), mask=m["first"])
    for l in range(self.num_blocks):
      a = self._block(l, a, m, lambda u, l=l: self.mid[l](u, mask=m["mid"]))
    out = self._head(a, m)
    return out.reshape(out.shape[:3] + (self.input_shape[-1], -1))

  # ---- cache protocol ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # one ordering
    self.check_unconditional(cond)
    hgt, wid, c = self.input_shape
    pad1, pad = 2 * (self.first_kernel // 2), 2 * (self.kernel_size // 2)
    return {"x": jnp.zeros((batch_size, hgt + pad1, wid + pad1, c), jnp.float32),
            "u": [jnp.zeros((batch_size, hgt + pad, wid + pad, self.residual_channels),
                            jnp.float32) for _ in range(self.num_blocks)]}

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of dim `step.dim`: the network at its pixel only."""
    self.check_unconditional(cond)
    m = self._masks()
    i, j, g = ci.position(step.dim, self.input_shape)
    pi, pj, pg = ci.position(step.prev_dim, self.input_shape)
    q, r = self.first_kernel // 2, self.kernel_size // 2
    # x_prev of class 0 is feature 0, what the cache holds: t = 0 needs no gate.
    # Patches are read from the old cache and get the new value themselves
    # (see `ci.with_value`).
    feat_B = ci.value_table(self.num_classes)[step.x_prev]
    k1, k = self.first_kernel, self.kernel_size
    patch = ci.with_value(ci.patch(cache["x"], i, j, k1, k1), feat_B, pi + q - i, pj + q - j, pg)
    xmap = jax.lax.dynamic_update_slice(cache["x"], feat_B[:, None, None, None],
                                        (0, pi + q, pj + q, pg))
    a = self._at_pixel(self.first, patch, m["first"], i, j)
    umaps = []
    for l in range(self.num_blocks):
      def mid(u_BxH, l=l):
        u_patch = jax.lax.dynamic_update_slice(ci.patch(cache["u"][l], i, j, k, k),
                                               u_BxH[:, None, None, :], (0, r, r, 0))
        # Writing the patch back (not just u) makes the write depend on the
        # read, so XLA updates the buffer in place instead of copying it.
        umaps.append(jax.lax.dynamic_update_slice(cache["u"][l], u_patch, (0, i, j, 0)))
        return self._at_pixel(self.mid[l], u_patch, m["mid"], i, j)
      a = self._block(l, a, m, mid)
    out_BxCxP = self._head(a, m).reshape(a.shape[0], self.input_shape[-1], -1)
    params = jax.lax.dynamic_index_in_dim(out_BxCxP, g, axis=1, keepdims=False)
    return params, {"x": xmap, "u": umaps}

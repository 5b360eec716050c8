"""Two ways to run LMConv's layers: on whole maps, or at one pixel from caches.

`ar_jax.models.lmconv` writes its network once against a run context, whose
`conv(key, x, kind)` applies layer `key` to its input `x` (kind: "A", "B" or
"dilated" for a k x k locally masked convolution, None for a 1x1 one):

- `FullRun`: `x` is a whole map [B, H, W, Cin] (training, likelihood, the
  naive sampler).
- `PixelRun`: `x` is the input at one pixel (i, j), [B, Cin] (a cached
  sampler's step). Each k x k layer keeps its input map, zero-padded by
  k // 2 * dilation, in the cache; the step writes `x` at (i, j), then
  applies the layer to the window centred there under the pixel's row of the
  per-location mask (`LocallyMaskedConv2D.at_pixel`). Pixels later in the
  order are still zeros in the maps, and masked off.
"""

import jax
import jax.numpy as jnp

from ar_jax.models import conv_image as ci


class FullRun:
  """Applies every layer to whole maps [B, H, W, C] under per-location masks `m`."""

  def __init__(self, model, m):
    self.model, self.m = model, m

  def conv(self, key, x, kind):
    layer = self.model.layers[key]
    return layer(x) if kind is None else layer(x, self.m[kind])


class PixelRun:
  """Applies every layer at pixel (i, j) from the cached input maps `maps`.

  `maps[key]` is layer `key`'s input map, padded; `conv` returns the layer's
  output [B, Cout] there and records the updated map in `self.maps`.
  """

  def __init__(self, model, m, maps, i, j):
    self.model, self.m, self.maps, self.i, self.j = model, m, dict(maps), i, j

  def conv(self, key, x, kind):
    layer = self.model.layers[key]
    if kind is None:
      return layer.at_pixel(x[:, None, None])
    size = 2 * (layer.kernel_size // 2) * layer.dilation + 1
    r = size // 2
    # Read the window from the old map, put x at its centre and write the window
    # back: the write depends on the read, so XLA updates the map in place.
    window = jax.lax.dynamic_update_slice(ci.patch(self.maps[key], self.i, self.j, size, size),
                                          x[:, None, None, :], (0, r, r, 0))
    self.maps[key] = jax.lax.dynamic_update_slice(self.maps[key], window, (0, self.i, self.j, 0))
    row = jnp.asarray(self.m[kind])[self.i * self.model.input_shape[1] + self.j]
    return layer.at_pixel(window, row)

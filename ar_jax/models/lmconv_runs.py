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

import flax.linen as nn
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


def init_cache(model, batch_size):
  """Zero input maps of the k x k layers, padded (the first's ones channels set).

  Also the class values generated so far [B, D] and the last pixel's network
  output (the "logistic" output's later channels reuse it).
  """
  (h, w, c), k = model.input_shape, model.kernel_size
  specs = model.layer_specs()
  maps = {}
  for key, _, kind, width in specs:
    if kind is not None:
      r = k // 2 * (model.dilation if kind == "dilated" else 1)
      maps[key] = jnp.zeros((batch_size, h + 2 * r, w + 2 * r, width), jnp.float32)
  maps["first"] = maps["first"].at[:, k // 2:k // 2 + h, k // 2:k // 2 + w, 1::2].set(1.0)
  return {"maps": maps, "xv": jnp.zeros((batch_size, h * w * c), jnp.float32),
          "pixel": jnp.zeros((batch_size, specs[-1][1]), jnp.float32)}


def _pixel_net(model, maps, i, j, order_index):
  """Network output [B, P_out] at pixel (i, j) from the cached maps, and the new maps."""
  q, c2 = model.kernel_size // 2, 2 * model.input_shape[2]
  run = PixelRun(model, model.order_masks(order_index), maps, i, j)
  feats = ci.patch(maps["first"], i + q, j + q, 1, 1).reshape(-1, c2)
  out = model.network(run, feats)
  return run.maps, out


def cached_step(model, cache, step):
  """(params [B, P] of dim `step.dim`, cache): the network at its pixel only.

  Categorical output: every sub-pixel runs the network at its pixel (channel
  group c reads the groups < c of the pixel, all written by then; the last
  channel's run leaves the pixel's activations final). Logistic: the output
  at a pixel reads no channel of it, so channel 0 runs the network and the
  later channels re-read its output through `channel_params`.
  """
  c, q = model.input_shape[2], model.kernel_size // 2
  # Record the value generated at the previous step. At t == 0 (prev_dim ==
  # dim, x_prev zeros) this writes class 0 at the current sub-pixel, which
  # nothing reads (mask A; channel_params row c reads channels < c) before
  # step 1 writes the value drawn there.
  pd = step.prev_dim
  xv = cache["xv"].at[:, pd].set(step.x_prev.astype(jnp.float32))
  pi, pj, pg = ci.position(pd, model.input_shape)
  feat = model.input_features(xv[:, pd, None])[:, None, None, :1]
  maps = dict(cache["maps"])
  maps["first"] = jax.lax.dynamic_update_slice(maps["first"], feat, (0, pi + q, pj + q, 2 * pg))
  i, j, g = ci.position(step.dim, model.input_shape)
  net = lambda m, mp, px: _pixel_net(m, mp, i, j, step.order_index)
  if model.output == "logistic" and c > 1:
    maps, pixel = nn.cond(g == 0, net, lambda m, mp, px: (mp, px), model, maps, cache["pixel"])
  else:
    maps, pixel = net(model, maps, cache["pixel"])
  if model.output == "logistic":
    x_pix = jax.lax.dynamic_slice_in_dim(xv, (step.dim // c) * c, c, axis=1)
    params = model.pixel_distribution.channel_params(pixel, x_pix)  # [B, C, 3K]
  else:
    params = pixel.reshape(pixel.shape[0], c, -1)
  params = jax.lax.dynamic_index_in_dim(params, g, axis=1, keepdims=False)
  return params, {"maps": maps, "xv": xv, "pixel": pixel}

"""PixelCNN++ (Salimans et al. 2017) with exact incremental (cached) sampling.

Network (the authors' released `pixel_cnn_pp/model.py`, in Flax): two
streams of gated ResNet layers with concat-ELU, `u` (down-shifted 2x3
convolutions: the rows above a pixel) and `ul` (down-right-shifted 2x2: also
the pixels to its left, plus a 1x1 shortcut from `u`); an upward pass of
`num_levels` resolutions (`num_resnet` layers each, stride-2 convolutions in
between) and a downward pass that upsamples with transposed convolutions and
reads the upward pass's outputs through shortcut connections (ResNet layer
count per level: R going up, R then R+1 coming down, as the released code).
Causality comes from padding and shifts, never from masks. Odd sizes round
up on the way down and are cropped on the way up, so any H x W works
(2 x 2 with three levels is 2x2, 1x1, 1x1).

Output: `PixelDiscretizedLogisticMixture` (K components, channel c's mean
linear in the earlier channels of the same pixel) over `num_classes` levels,
for any C. For binary data (num_classes=2) it is the same mixture over two
levels, as TFP's PixelCNN uses for binary images (high=1): one code path,
coupled channels for any C (a Bernoulli head would need its own coupling).

Per-dimension contract (`ar_jax.models.base`): `__call__` returns
`channel_params` [B, H, W, C, 3K], the exact conditional of each channel given
the pixels before it and the earlier channels of its pixel, under the raster
(h, w, c) order; `distribution` is the per-channel mixture, so `ar_jax.sample`
draws channel by channel exactly. `pixel_params` gives the per-pixel network
output; `log_prob` uses the joint per-pixel mixture (the same value).

Cached sampling (the idea of Ramachandran et al. 2017): caches hold, for
every convolution, its padded input map at every resolution. The `u` stream
is computed one row per level at the first step of each image row (it sees
only rows above); the `ul` stream one position per layer and level per new
pixel (resolution l at (r >> l, c >> l): recomputing it at a later pixel reads
the same final inputs, so it is idempotent). Channels after the first only
re-read the pixel's network output (`channel_params`), no network at all.
The streams are written once (`_u_stream`, `_ul_stream`) against a run
context from `ar_jax.models.pixelcnn_pp_runs`: whole maps or cached windows.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ar_jax.distributions import PixelDiscretizedLogisticMixture
from ar_jax.models import checks
from ar_jax.models import pixelcnn_pp_runs as runs
from ar_jax.models.base import ARModel
from ar_jax.nn import shifted


class PixelCNNPP(ARModel):
  """PixelCNN++ over images [B, H, W, C] of `num_classes` levels.

  Defaults: the paper's CIFAR-10 model as in the authors' released code
  (160 filters, 10 mixture components; the paper's text says 192 feature
  maps), 3 resolutions with 5 ResNet layers per block (the paper's "6 blocks
  of 5"), dropout 0.5, weight normalization (without the data-dependent
  init). `dropout` acts only in `train_log_prob` (with its key).
  """
  input_shape: tuple
  num_classes: int = 256
  num_filters: int = 160
  num_resnet: int = 5
  num_levels: int = 3
  num_mixtures: int = 10
  dropout: float = 0.5
  weight_norm: bool = True

  supports_cache: ClassVar[bool] = True

  def __post_init__(self):
    checks.check_input_shape(self, "(H, W, C)", rank=3)
    checks.check_int(self, "num_classes", low=2)
    for key in ("num_filters", "num_resnet", "num_levels", "num_mixtures"):
      checks.check_int(self, key)
    checks.check_rate(self, "dropout")
    super().__post_init__()

  # ---- static structure ----
  @property
  def pixel_distribution(self):
    return PixelDiscretizedLogisticMixture(self.num_mixtures, self.input_shape[2],
                                           self.num_classes)

  @property
  def distribution(self):
    return self.pixel_distribution.channel_distribution

  @property
  def sizes(self):
    """(h, w) of each resolution level: halved and rounded up."""
    h, w = self.input_shape[:2]
    out = []
    for _ in range(self.num_levels):
      out.append((h, w))
      h, w = -(-h // 2), -(-w // 2)
    return out

  def _up_counts(self):
    return [self.num_resnet] * self.num_levels

  def _down_counts(self):  # index = level; the top level gets R, the others R + 1
    return [self.num_resnet + (l < self.num_levels - 1) for l in range(self.num_levels)]

  def setup(self):
    f, wn = self.num_filters, self.weight_norm
    conv = lambda features, spec: shifted.ShiftedConv2D(
        features, (spec.kh, spec.kw), spec.stride, weight_norm=wn)
    layers = {"u_first": conv(f, runs.DOWN), "ul_first_up": conv(f, runs.FIRST_UP),
              "ul_first_left": conv(f, runs.FIRST_LEFT)}
    for stream, spec in (("u", runs.DOWN), ("ul", runs.DOWN_RIGHT)):
      for pass_, counts in (("up", self._up_counts()), ("dn", self._down_counts())):
        for l, n in enumerate(counts):
          for k in range(n):
            key = f"{stream}_{pass_}{l}_{k}"
            layers[key + "_in"] = conv(f, spec)
            layers[key + "_out"] = conv(2 * f, spec)
            if stream == "ul" or pass_ == "dn":
              layers[key + "_nin"] = shifted.NiN(f, weight_norm=wn)
      for l in range(self.num_levels - 1):
        layers[f"{stream}_down{l}"] = conv(f, runs.DOWN2 if stream == "u" else runs.DOWN_RIGHT2)
        layers[f"{stream}_upsample{l + 1}"] = shifted.ShiftedDeconv2D(
            f, (2, 3 if stream == "u" else 2), weight_norm=wn)
    layers["out"] = shifted.NiN(self.pixel_distribution.num_params, weight_norm=wn)
    self.layers = layers

  # ---- the two streams, written once for whole maps and for cached steps ----
  def _resnet(self, ctx, key, x, a, spec, level, drop):
    return shifted.gated_resnet(
        x, key, lambda v: ctx.conv(key + "_in", v, spec, level),
        lambda v: ctx.conv(key + "_out", v, spec, level), a=a, nin_a=self.layers.get(key + "_nin"),
        rate=self.dropout, drop=drop)

  def _u_stream(self, ctx, drop):
    """The u values the ul stream reads, in the order it reads them."""
    u = ctx.first("u_first", runs.DOWN, "down")
    stack, seq = [u], []
    for l, n in enumerate(self._up_counts()):
      for k in range(n):
        u = self._resnet(ctx, f"u_up{l}_{k}", u, None, runs.DOWN, l, drop)
        stack.append(u)
        seq.append(ctx.u_value(len(seq), u, l))
      if l < self.num_levels - 1:
        stack.append(u := ctx.conv(f"u_down{l}", u, runs.DOWN2, l))
    u = stack.pop()
    for l in reversed(range(self.num_levels)):
      for k in range(self._down_counts()[l]):
        u = self._resnet(ctx, f"u_dn{l}_{k}", u, stack.pop(), runs.DOWN, l, drop)
        seq.append(ctx.u_value(len(seq), u, l))
      if l > 0:
        u = ctx.up(f"u_upsample{l}", u, l - 1)
    return seq

  def _u_levels(self):
    up = [l for l, n in enumerate(self._up_counts()) for _ in range(n)]
    return up + [l for l in reversed(range(self.num_levels))
                 for _ in range(self._down_counts()[l])]

  def _ul_stream(self, ctx, seq, drop):
    """Per-pixel network output [B, h, w, P] (h = w = 1 in a cached step)."""
    ul = ctx.first("ul_first_up", runs.FIRST_UP, "down") + ctx.first(
        "ul_first_left", runs.FIRST_LEFT, "right")
    stack, n_read = [ul], 0
    for l, n in enumerate(self._up_counts()):
      for k in range(n):
        ul = self._resnet(ctx, f"ul_up{l}_{k}", ul, seq[n_read], runs.DOWN_RIGHT, l, drop)
        stack.append(ul)
        n_read += 1
      if l < self.num_levels - 1:
        stack.append(ul := ctx.conv(f"ul_down{l}", ul, runs.DOWN_RIGHT2, l))
    ul = stack.pop()
    for l in reversed(range(self.num_levels)):
      for k in range(self._down_counts()[l]):
        a = jnp.concatenate([seq[n_read], stack.pop()], axis=-1)
        ul = self._resnet(ctx, f"ul_dn{l}_{k}", ul, a, runs.DOWN_RIGHT, l, drop)
        n_read += 1
      if l > 0:
        ul = ctx.up(f"ul_upsample{l}", ul, l - 1)
    return self.layers["out"](jax.nn.elu(ul))

  # ---- whole-image passes ----
  def _net_input(self, xv):
    """Class values [..., C] -> rescaled values in [-1, 1] and a channel of ones."""
    y = 2.0 * xv / (self.num_classes - 1) - 1.0
    return jnp.concatenate([y, jnp.ones_like(y[..., :1])], axis=-1)

  def _full(self, xv, drop=None):
    ctx = runs.FullRun(self, self._net_input(xv))
    return self._ul_stream(ctx, self._u_stream(ctx, drop), drop), ctx

  def _class_values(self, x):
    """Float class values [B, H, W, C]: NaN for invalid ints, the mean class of a one-hot."""
    self.check_input(x)
    if jnp.issubdtype(x.dtype, jnp.integer):
      valid = (x >= 0) & (x < self.num_classes)
      return jnp.where(valid, x.astype(jnp.float32), jnp.nan)
    return x.astype(jnp.float32) @ jnp.arange(self.num_classes, dtype=jnp.float32)

  def pixel_params(self, x, cond=None):
    """Per-pixel `pixel_distribution` params [B, H, W, P] (the network's output)."""
    self.check_unconditional(cond)
    return self._full(self._class_values(x))[0]

  def __call__(self, x, cond=None):
    """Per-channel conditionals [B, H, W, C, 3K] (see the module docstring)."""
    self.check_unconditional(cond)
    xv = self._class_values(x)
    return self.pixel_distribution.channel_params(self._full(xv)[0], xv)

  def log_prob(self, x, cond=None):
    """log p(x) [B] in nats: the joint per-pixel mixture (equal to the chained conditionals)."""
    return self._joint_log_prob(x, cond, None)

  def train_log_prob(self, x, key, cond=None):
    """`log_prob` with dropout (rate `dropout`) drawn from `key`."""
    return self._joint_log_prob(x, cond, key if self.dropout > 0 else None)

  def _joint_log_prob(self, x, cond, drop):
    self.check_unconditional(cond)
    xv = self._class_values(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):  # relaxed one-hot: chained conditionals
      return super().log_prob(x)
    params = self._full(xv, drop)[0]
    return self.pixel_distribution.log_prob(params, x).reshape(x.shape[0], -1).sum(-1)

  # ---- cache protocol ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    """Zero caches (shapes from a traced whole-image pass: XLA drops its compute)."""
    del order_index
    self.check_unconditional(cond)
    h, w, c = self.input_shape
    _, ctx = self._full(jnp.zeros((batch_size, h, w, c), jnp.float32))
    rows = lambda k, a: (a.shape[0], 1 if k.startswith("u") and k[1:].isdigit() else runs.RING,
                         *a.shape[2:])
    maps = {k: jnp.zeros(rows(k, a), a.dtype) for k, a in ctx.maps.items()}
    # The ones channel inside the image (the padding stays 0), as `_net_input`;
    # ring slot 0 is the top padding row until image row 2 replaces it.
    ones = jnp.zeros((batch_size, runs.RING, w + 2, c + 1)).at[:, 1:, 1:w + 1, c].set(1.0)
    maps["x"] = ones
    return {"maps": maps, "xv": jnp.zeros((batch_size, h * w * c), jnp.float32),
            "pixel": jnp.zeros((batch_size, self.pixel_distribution.num_params), jnp.float32)}

  def _pixel_step(self, maps, r, c):
    """Network output [B, P] at pixel (r, c) from the caches, and the updated caches."""
    maps = nn.cond(c == 0, lambda m, mp: m._u_rows(mp, r), lambda m, mp: mp, self, maps)
    ctx = runs.CachedRun(self, maps, r, c, "pos")
    seq = [ctx.read_u(n, l) for n, l in enumerate(self._u_levels())]
    out = self._ul_stream(ctx, seq, None)
    return ctx.maps, out[:, 0, 0]

  def _u_rows(self, maps, r):
    ctx = runs.CachedRun(self, maps, r, 0, "row")
    self._u_stream(ctx, None)
    return ctx.maps

  def cached_step(self, cache, step, cond=None):
    """(channel params [B, 3K] of dim `step.dim`, cache); see the module docstring."""
    self.check_unconditional(cond)
    _, w, c = self.input_shape
    maps, xv = dict(cache["maps"]), cache["xv"]
    # Record the value generated at the previous step (none at t == 0).
    pd, seen = step.prev_dim, step.t > 0
    val = jnp.where(seen, step.x_prev.astype(jnp.float32), xv[:, pd])
    xv = xv.at[:, pd].set(val)
    y = self._net_input(val[:, None])[:, :1]
    pr, pc, pch = pd // (w * c), (pd // c) % w, pd % c
    slot = (pr + 1) % runs.RING
    old = jax.lax.dynamic_slice(maps["x"], (0, slot, pc + 1, pch), (y.shape[0], 1, 1, 1))
    maps["x"] = jax.lax.dynamic_update_slice(
        maps["x"], jnp.where(seen, y[:, None, None], old), (0, slot, pc + 1, pch))
    # Its ones channel too: the ring slot may have held the top padding row.
    maps["x"] = maps["x"].at[:, slot, pc + 1, c].set(1.0)
    d = step.dim
    r, col, ch = d // (w * c), (d // c) % w, d % c
    if c == 1:
      maps, pixel = self._pixel_step(maps, r, col)
    else:  # Later channels of a pixel reuse its network output.
      maps, pixel = nn.cond(ch == 0, lambda m, mp, p: m._pixel_step(mp, r, col),
                            lambda m, mp, p: (mp, p), self, maps, cache["pixel"])
    x_pix = jax.lax.dynamic_slice_in_dim(xv, (d // c) * c, c, axis=1)
    params = self.pixel_distribution.channel_params(pixel, x_pix)  # [B, C, 3K]
    params = jax.lax.dynamic_index_in_dim(params, ch, axis=1, keepdims=False)
    return params, {"maps": maps, "xv": xv, "pixel": pixel}


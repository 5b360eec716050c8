"""PixelSNAIL (Chen et al. 2017) with exact incremental (cached) sampling.

Network: a first layer as PixelCNN++'s `ul` stream (a down-shifted 1x3
convolution of the row above plus a right-shifted 2x1 one of the pixels to
the left), then `num_blocks` blocks, each `num_resnet` gated ResNet layers of
down-right-shifted 2x2 convolutions (concat-ELU, `a * sigmoid(b)` gate,
`ar_jax.nn.shifted`, `ar_jax.nn.gated`) followed by causal attention over
the flattened image (`ar_jax.nn.attention.CausalAttention`):
- keys and values from [raw input, stream, background], queries from
  [stream, background], each source first through a 1x1 gated ResNet layer;
  the background is two fixed channels, r / H - 1/2 and c / W - 1/2;
- the mask is strictly causal (`masks.causal_attention_mask(exclusive=True)`):
  pixel i reads pixels j < i, so the raw input x_j in key j is never read by
  pixel j itself; the first pixel allows no key and reads exactly zero;
- the read enters a 1x1 gated ResNet layer on the stream (its side input).
The output is a 1x1 convolution of ELU(stream). Causality comes from shifts
and the mask; the convolutions alone see a cone of the rows above, the
attention every earlier pixel.

Output (`output`): "logistic", PixelCNN++'s discretized logistic mixture
with channel coupling (`PixelDiscretizedLogisticMixture`, `num_mixtures`
components), or "categorical", a softmax (Bernoulli for two classes) per
sub-pixel whose logits add a strictly channel-triangular linear map of the
one-hot earlier channels of the pixel. Either way `__call__` returns each
channel's exact conditional [B, H, W, C, P] in raster (h, w, c) order, so
`ar_jax.sample` draws channel by channel. Conditioning on a class label
(`cond_classes`) or a vector (`cond_size`) enters every stream layer's gate.
Dropout (`dropout`) acts in `train_log_prob` only, in every ResNet layer.

Cached sampling: one network evaluation per pixel (later channels re-read its
output). Each 2x2 convolution keeps its padded input as a ring of 3 rows
(`ar_jax.models.pixelcnn_pp_runs.CachedRun`), so a step evaluates each layer
at the new pixel only. Each attention layer keeps its keys and values
[B, heads, H*W, d]: at pixel p it writes those of pixel p - 1 (whose values
are complete only now) from the stream of p - 1 kept from the last step,
then reads its query over the buffer. A pixel costs O(layers * F^2 + blocks *
H*W * (key + value)) instead of a whole-image pass.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax.distributions import PixelDiscretizedLogisticMixture
from ar_jax.models import base
from ar_jax.models import checks
from ar_jax.models import pixelcnn_pp_runs as runs
from ar_jax.nn import attention
from ar_jax.nn import shifted

_OUTPUTS = ("logistic", "categorical")
_NAME = "PixelSNAIL"


def background(height, width):
  """float32 [H * W, 2]: the position channels (r / H - 1/2, c / W - 1/2) in raster order."""
  r, c = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
  return np.stack([r / height - 0.5, c / width - 0.5], -1).reshape(-1, 2).astype(np.float32)


class PixelSNAIL(base.ARModel):
  """PixelSNAIL over images [B, H, W, C] of `num_classes` levels.

  Defaults are small (a CPU-sized model, binary data); the paper's CIFAR-10
  model is in experiments/configs/pixelsnail_cifar10.py.

  Attributes:
    num_filters: F, the stream's channels.
    num_blocks: blocks of (ResNet layers, attention).
    num_resnet: gated ResNet layers of 2x2 convolutions per block.
    num_heads, key_size, value_size: attention heads and total key / value
      sizes (both multiples of num_heads).
    output: "logistic" (mixture of `num_mixtures`) or "categorical".
    dropout: rate in every ResNet layer, `train_log_prob` only.
    weight_norm: weight normalization of the convolutions.
    cond_classes / cond_size: a label in [0, C) / a vector [S] per example.
  """
  input_shape: tuple
  num_classes: int = 2
  num_filters: int = 16
  num_blocks: int = 2
  num_resnet: int = 1
  num_heads: int = 1
  key_size: int = 4
  value_size: int = 8
  output: str = "logistic"
  num_mixtures: int = 2
  dropout: float = 0.0
  weight_norm: bool = True
  cond_classes: int = 0
  cond_size: int = 0

  supports_cache: ClassVar[bool] = True

  def __post_init__(self):
    checks.check_input_shape(self, "(H, W, C)", rank=3)
    checks.check_int(self, "num_classes", low=2)
    for key in ("num_filters", "num_blocks", "num_resnet", "num_heads", "key_size",
                "value_size", "num_mixtures"):
      checks.check_int(self, key)
    for key in ("key_size", "value_size"):
      if getattr(self, key) % self.num_heads:
        checks.fail(self, key, f"a multiple of num_heads={self.num_heads}",
                    "pick num_heads dividing key_size and value_size")
    checks.check_choice(self, "output", _OUTPUTS)
    checks.check_rate(self, "dropout")
    checks.check_cond_counts(self, "cond_classes", "cond_size")
    checks.check_at_most_one(self, cond_classes="int labels", cond_size="float vectors")
    super().__post_init__()

  # ---- static structure ----
  @property
  def pixel_distribution(self):
    return PixelDiscretizedLogisticMixture(self.num_mixtures, self.input_shape[2],
                                           self.num_classes)

  @property
  def distribution(self):
    if self.output == "logistic":
      return self.pixel_distribution.channel_distribution
    return distributions.for_classes(self.num_classes)

  @property
  def num_pixel_params(self):
    if self.output == "logistic":
      return self.pixel_distribution.num_params
    return self.input_shape[2] * self.distribution.num_params

  @property
  def sizes(self):  # what `pixelcnn_pp_runs` reads: one resolution
    return [tuple(self.input_shape[:2])]

  @property
  def is_conditional(self):
    return bool(self.cond_classes or self.cond_size)

  def setup(self):
    f, wn, c = self.num_filters, self.weight_norm, self.input_shape[2]
    conv = lambda n, spec: shifted.ShiftedConv2D(n, (spec.kh, spec.kw), weight_norm=wn)
    nin = lambda n: shifted.NiN(n, weight_norm=wn)
    layers = {"first_up": conv(f, runs.FIRST_UP), "first_left": conv(f, runs.FIRST_LEFT)}
    cond = lambda: nn.Dense(2 * f, use_bias=False)
    for b in range(self.num_blocks):
      for k in range(self.num_resnet):
        key = f"b{b}_r{k}"
        layers[key + "_in"], layers[key + "_out"] = conv(f, runs.DOWN_RIGHT), conv(
            2 * f, runs.DOWN_RIGHT)
        if self.is_conditional:
          layers[key + "_cond"] = cond()
      for key, width in ((f"b{b}_kv", c + f + 2), (f"b{b}_q", f + 2), (f"b{b}_post", f)):
        layers[key + "_in"], layers[key + "_out"] = nin(width), nin(2 * width)
      layers[f"b{b}_post_nin"] = nin(f)
      if self.is_conditional:
        layers[f"b{b}_post_cond"] = cond()
    layers["out"] = nin(self.num_pixel_params)
    self.layers = layers
    self.attn = [attention.CausalAttention(self.num_heads, self.key_size, self.value_size)
                 for _ in range(self.num_blocks)]
    if self.output == "categorical" and c > 1:
      p = self.distribution.num_params
      self.coupling = self.param("coupling", nn.initializers.zeros,
                                 (c, self.num_classes, c, p))

  # ---- conditioning ----
  def check_cond(self, cond, batch_size):
    base.check_array_cond(
        f"{_NAME}(cond_classes={self.cond_classes}, cond_size={self.cond_size})", cond,
        batch_size, build_hint="cond_classes=C (int labels) or cond_size=S (float vectors)",
        cond_classes=self.cond_classes, cond_size=self.cond_size)

  def _context(self, cond, batch_size):
    """Checked cond as features [B, C or S], or None."""
    self.check_cond(cond, batch_size)
    if not self.is_conditional:
      return None
    if self.cond_classes:
      return base.guarded_one_hot(jnp.asarray(cond), self.cond_classes)
    return jnp.asarray(cond, jnp.float32)

  # ---- layers shared by the whole-image pass and the cached step ----
  def _resnet(self, key, x, conv, *, a=None, h=None, drop=None):
    """Gated ResNet layer (`shifted.gated_resnet`); `h` conditions its gate."""
    cond = None if h is None else self.layers[key + "_cond"](h).reshape(
        (h.shape[0],) + (1,) * (x.ndim - 2) + (-1,))
    return shifted.gated_resnet(
        x, key, lambda v: conv(key + "_in", v), lambda v: conv(key + "_out", v), a=a,
        nin_a=self.layers.get(key + "_nin"), rate=self.dropout, drop=drop, cond=cond)

  def _nin(self, key, v):
    return self.layers[key](v)

  def _kv_source(self, b, x_raw, ul, bg, drop):
    return self._resnet(f"b{b}_kv", jnp.concatenate([x_raw, ul, bg], -1), self._nin,
                        drop=drop)

  def _q_source(self, b, ul, bg, drop):
    return self._resnet(f"b{b}_q", jnp.concatenate([ul, bg], -1), self._nin, drop=drop)

  def _first(self, ctx):
    return ctx.first("first_up", runs.FIRST_UP, "down") + ctx.first(
        "first_left", runs.FIRST_LEFT, "right")

  def _conv_layers(self, ctx, b, ul, h, drop):
    conv = lambda key, v: ctx.conv(key, v, runs.DOWN_RIGHT, 0)
    for k in range(self.num_resnet):
      ul = self._resnet(f"b{b}_r{k}", ul, conv, h=h, drop=drop)
    return ul

  def _rescale(self, xv):
    return 2.0 * xv / (self.num_classes - 1) - 1.0

  # ---- whole-image pass ----
  def _pixel_out(self, xv, h, drop=None):
    """Per-pixel network output [B, H, W, P] from class values [B, H, W, C]."""
    bsz, hgt, wid, c = xv.shape
    t, f = hgt * wid, self.num_filters
    y = self._rescale(xv)
    ctx = runs.FullRun(self, jnp.concatenate([y, jnp.ones_like(y[..., :1])], -1))
    x_raw = y.reshape(bsz, t, c)
    bg = jnp.broadcast_to(jnp.asarray(background(hgt, wid)), (bsz, t, 2))
    mask = jnp.asarray(masks.causal_attention_mask(t, exclusive=True))
    ul = self._first(ctx)
    for b in range(self.num_blocks):
      flat = self._conv_layers(ctx, b, ul, h, drop).reshape(bsz, t, f)
      read = self.attn[b](self._q_source(b, flat, bg, drop),
                          self._kv_source(b, x_raw, flat, bg, drop), mask)
      ul = self._resnet(f"b{b}_post", flat, self._nin, a=read, h=h, drop=drop)
      ul = ul.reshape(bsz, hgt, wid, f)
    return self.layers["out"](jax.nn.elu(ul))

  def _channel_params(self, out, xv, onehot):
    """Per-channel params [..., C, P] from pixel output [..., P_pix] and the pixel's values."""
    if self.output == "logistic":
      return self.pixel_distribution.channel_params(out, xv)
    c = self.input_shape[2]
    params = out.reshape(out.shape[:-1] + (c, -1))
    if c > 1:  # channel d reads the one-hot channels c < d of its pixel
      tri = np.triu(np.ones((c, c), np.float32), 1)[:, None, :, None]
      params = params + jnp.einsum("...ck,ckdp->...dp", onehot, self.coupling * tri)
    return params

  def _class_values(self, x):
    """Float class values [B, H, W, C]: NaN for invalid ints, the mean class of a one-hot."""
    self.check_input(x)
    if jnp.issubdtype(x.dtype, jnp.integer):
      valid = (x >= 0) & (x < self.num_classes)
      return jnp.where(valid, x.astype(jnp.float32), jnp.nan)
    return x.astype(jnp.float32) @ jnp.arange(self.num_classes, dtype=jnp.float32)

  def _forward(self, x, cond, drop):
    xv = self._class_values(x)
    out = self._pixel_out(xv, self._context(cond, x.shape[0]), drop)
    onehot = self.one_hot(x) if self.output == "categorical" else None
    return out, self._channel_params(out, xv, onehot)

  def __call__(self, x, cond=None):
    """Per-channel conditionals [B, H, W, C, P] (see the module docstring)."""
    return self._forward(x, cond, None)[1]

  def log_prob(self, x, cond=None):
    return self._log_prob(x, cond, None)

  def train_log_prob(self, x, key, cond=None):
    """`log_prob` with dropout (rate `dropout`) drawn from `key`."""
    return self._log_prob(x, cond, key if self.dropout > 0 else None)

  def _log_prob(self, x, cond, drop):
    self.check_input(x)
    out, params = self._forward(x, cond, drop)
    if self.output == "logistic" and jnp.issubdtype(x.dtype, jnp.integer):
      lp = self.pixel_distribution.log_prob(out, x)  # the joint per-pixel mixture
    else:
      lp = self.distribution.log_prob(params, x)
    return lp.reshape(x.shape[0], -1).sum(-1)

  # ---- cache protocol ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    """Zero ring buffers, key/value buffers and the last pixel's stream per block."""
    del order_index
    self.check_cond(cond, batch_size)
    hgt, wid, c = self.input_shape
    f, ring = self.num_filters, runs.RING
    maps = {f"b{b}_r{k}_{io}": jnp.zeros((batch_size, ring, wid + 2, 2 * f))
            for b in range(self.num_blocks) for k in range(self.num_resnet)
            for io in ("in", "out")}
    # The input with its ones channel inside the image (the padding stays 0).
    maps["x"] = jnp.zeros((batch_size, ring, wid + 2, c + 1)).at[:, 1:, 1:wid + 1, c].set(1.0)
    attn = tuple(a.init_cache(batch_size, hgt * wid) for a in self.attn)
    return {"maps": maps, "attn": attn, "prev": jnp.zeros((self.num_blocks, batch_size, f)),
            "xv": jnp.zeros((batch_size, hgt * wid * c), jnp.float32),
            "pixel": jnp.zeros((batch_size, self.num_pixel_params), jnp.float32)}

  def _pixel_step(self, state, r, col, h):
    """Network output [B, P] at pixel (r, col) from the caches, and the updated caches."""
    hgt, wid, c = self.input_shape
    p = r * wid + col
    ctx = runs.CachedRun(self, state["maps"], r, col, "pos")
    bgs = jnp.asarray(background(hgt, wid))
    bg, bg_prev = bgs[p][None], bgs[jnp.maximum(p - 1, 0)][None]
    bg, bg_prev = (jnp.broadcast_to(a, (state["prev"].shape[1], 2)) for a in (bg, bg_prev))
    x_prev = self._rescale(jax.lax.dynamic_slice_in_dim(
        state["xv"], jnp.maximum(p - 1, 0) * c, c, axis=1))
    mask_t = jnp.asarray(masks.causal_attention_mask(hgt * wid, exclusive=True))[p]
    attn, prev = list(state["attn"]), []
    ul = self._first(ctx)
    for b in range(self.num_blocks):
      flat = self._conv_layers(ctx, b, ul, h, None)[:, 0, 0]
      # Keys/values of pixel p - 1 (at p == 0 slot 0 gets a placeholder that
      # no query reads: row 0 of the mask is empty, and p == 1 rewrites it).
      kv = self._kv_source(b, x_prev, state["prev"][b], bg_prev, None)
      attn[b] = self.attn[b].write(attn[b], kv, jnp.maximum(p - 1, 0))
      read = self.attn[b].read(self._q_source(b, flat, bg, None), attn[b], mask_t)
      prev.append(flat)
      ul = self._resnet(f"b{b}_post", flat, self._nin, a=read, h=h)[:, None, None]
    out = self.layers["out"](jax.nn.elu(ul))[:, 0, 0]
    return dict(state, maps=ctx.maps, attn=tuple(attn), prev=jnp.stack(prev), pixel=out)

  def cached_step(self, cache, step, cond=None):
    """(channel params [B, P] of dim `step.dim`, cache); see the module docstring."""
    _, wid, c = self.input_shape
    state, xv = dict(cache), cache["xv"]
    h = self._context(cond, xv.shape[0])
    # Record the value generated at the previous step (none at t == 0).
    pd, seen = step.prev_dim, step.t > 0
    val = jnp.where(seen, step.x_prev.astype(jnp.float32), xv[:, pd])
    state["xv"] = xv = xv.at[:, pd].set(val)
    pr, pc, pch = pd // (wid * c), (pd // c) % wid, pd % c
    maps, slot = dict(state["maps"]), (pr + 1) % runs.RING
    old = jax.lax.dynamic_slice(maps["x"], (0, slot, pc + 1, pch), (xv.shape[0], 1, 1, 1))
    new = self._rescale(val)[:, None, None, None]
    maps["x"] = jax.lax.dynamic_update_slice(maps["x"], jnp.where(seen, new, old),
                                             (0, slot, pc + 1, pch))
    # Its ones channel too: the ring slot may have held the top padding row.
    state["maps"] = dict(maps, x=maps["x"].at[:, slot, pc + 1, c].set(1.0))
    d = step.dim
    r, col, ch = d // (wid * c), (d // c) % wid, d % c
    if c == 1:
      state = self._pixel_step(state, r, col, h)
    else:  # Later channels of a pixel reuse its network output.
      state = nn.cond(ch == 0, lambda m, s: m._pixel_step(s, r, col, h),
                      lambda m, s: s, self, state)
    x_pix = jax.lax.dynamic_slice_in_dim(xv, (d // c) * c, c, axis=1)
    onehot = None
    if self.output == "categorical":
      onehot = nn.one_hot(x_pix.astype(jnp.int32), self.num_classes, dtype=jnp.float32)
    params = self._channel_params(state["pixel"], x_pix, onehot)  # [B, C, P]
    return jax.lax.dynamic_index_in_dim(params, ch, axis=1, keepdims=False), state

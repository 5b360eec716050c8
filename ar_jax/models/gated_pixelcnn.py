"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with
PixelCNN Decoders"), optionally conditional.

Two stacks per layer (the paper's Figure 2). The vertical stack convolves a
k x k kernel over the rows above and the current row
(`masks.vertical_stack_mask`); its pre-activation, shifted down one row
(`ar_jax.nn.down_shift`, so pixel (i, j) gets row i - 1, which saw rows < i
only), enters the horizontal stack through a 1x1 link. The horizontal stack
convolves 1 x k over the current row, left of the pixel (type A in the first
layer, B after), channel-grouped for RGB like PixelCNN. Information flows
vertical -> horizontal only, never back, so the receptive field has no blind
spot. Both stacks use the gate tanh(a) * sigmoid(b); the horizontal stack
has a 1x1 residual connection (not in the first layer) and a 1x1 skip
connection to the output, where the summed skips go through ReLU, 1x1, ReLU,
1x1 to the params of each (pixel, channel).

Conditioning, added inside every gate of both stacks (Eq. 4 and 5): a class
label (`cond_classes`, int [B]), a vector h (`cond_size`, float [B, F]) through
V^T h, or a spatial map (`cond_map_shape` = (H', W', F), float [B, H', W', F]),
brought to H x W by a learned upsampling (nearest resize, then a 3x3 conv)
and added through 1x1 convs, V * s.

Cached sampling: at each step the horizontal stack runs at the current
pixel only (row buffers of each layer's input); the vertical stack of row
i - 1 runs once, at the first step of row i, when that row is complete
(`lax.cond`), and its down-shifted pre-activations are kept for row i.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ar_jax import distributions
from ar_jax import masks
from ar_jax import nn as ar_nn
from ar_jax.models import base
from ar_jax.models import checks
from ar_jax.models import conv_image as ci

_NAME = "GatedPixelCNN"


class GatedPixelCNN(base.ARModel):
  """Gated PixelCNN for binary or K-class images [B, H, W, C].

  Attributes:
    input_shape: (H, W, C).
    num_classes: K values per channel (2: Bernoulli outputs).
    num_layers: gated layers after the first (input) layer.
    channels: p, the units of each stack (each gate has 2p inputs).
    head_channels: width of the hidden 1x1 output layer.
    first_kernel, kernel_size: odd kernel sizes of the first / later layers.
    cond_classes: C > 0: `cond` is an int label [B] in [0, C) (one-hot).
    cond_size: F > 0: `cond` is a float vector [B, F].
    cond_map_shape: (H', W', F): `cond` is a float map [B, H', W', F].
      At most one of the three is set; none: unconditional.
  Widths must be multiples of C (one group of units per channel); the
  defaults (ours) are multiples of 3 so that RGB models build with them.
  """
  input_shape: tuple
  num_classes: int = 2
  num_layers: int = 15
  channels: int = 96
  head_channels: int = 384
  first_kernel: int = 7
  kernel_size: int = 3
  cond_classes: int = 0
  cond_size: int = 0
  cond_map_shape: tuple = ()

  supports_cache: ClassVar[bool] = True

  def __post_init__(self):
    checks.check_input_shape(self, "(H, W, C)", rank=3)
    checks.check_int(self, "num_classes", low=2)
    checks.check_channel_groups(self, "channels", "head_channels")
    checks.check_int(self, "num_layers", low=0)
    checks.check_cond_counts(self, "cond_classes", "cond_size")
    shape = tuple(self.cond_map_shape)
    if shape and (len(shape) != 3 or any(int(d) < 1 for d in shape)):
      checks.fail(self, "cond_map_shape", "() or (H', W', F) of positive ints",
                  "give the shape of one example's cond map, or () for none")
    checks.check_at_most_one(self, cond_classes="int labels", cond_size="float vectors",
                             cond_map_shape="float maps")
    super().__post_init__()

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  @property
  def is_conditional(self):
    return bool(self.cond_classes or self.cond_size or tuple(self.cond_map_shape))

  # ---- conditioning input ----
  def check_cond(self, cond, batch_size):
    """Raises a ValueError naming the problem unless `cond` suits this model.

    Shapes and dtypes always (inside `jit` too); label values when concrete.
    """
    base.check_array_cond(
        f"{_NAME}(cond_classes={self.cond_classes}, cond_size={self.cond_size}, "
        f"cond_map_shape={tuple(self.cond_map_shape)})", cond, batch_size,
        build_hint="cond_classes=C (int labels), cond_size=F (float vectors) or "
        "cond_map_shape=(H', W', F) (float maps)", cond_classes=self.cond_classes,
        cond_size=self.cond_size, cond_map_shape=tuple(self.cond_map_shape))

  def _context(self, cond, batch_size):
    """Checked cond as features: [B, C or F], an upsampled map [B, H, W, p], or None."""
    self.check_cond(cond, batch_size)
    if not self.is_conditional:
      return None
    if self.cond_classes:
      return base.guarded_one_hot(jnp.asarray(cond), self.cond_classes)
    if self.cond_size:
      return jnp.asarray(cond, jnp.float32)
    hgt, wid, _ = self.input_shape
    f = self.cond_map_shape[-1]
    up = jax.image.resize(jnp.asarray(cond, jnp.float32), (batch_size, hgt, wid, f), "nearest")
    return self.upsample(up)

  def _cond_term(self, dense, ctx, row=None, col=None):
    """A gate's cond input, to add to [B, H, W, 2p] (or one row / pixel of it)."""
    if ctx is None:
      return 0.0
    if ctx.ndim == 2:  # label / vector: the same at every position
      v = dense(ctx)
      return v[:, None, None, :] if row is None else (v[:, None, :] if col is None else v)
    if row is not None:
      ctx = jax.lax.dynamic_index_in_dim(ctx, row, axis=1, keepdims=False)
      if col is not None:
        ctx = jax.lax.dynamic_index_in_dim(ctx, col, axis=1, keepdims=False)
    return dense(ctx)

  # ---- layers ----
  def setup(self):
    p, n = self.channels, self.num_layers + 1
    self.vconv = [ar_nn.MaskedConv2D(2 * p, self._kernel(l)) for l in range(n)]
    self.hconv = [ar_nn.MaskedConv2D(2 * p, (1, self._kernel(l))) for l in range(n)]
    self.link = [nn.Dense(2 * p) for _ in range(n)]
    self.skip = [ar_nn.MaskedDense(p) for _ in range(n)]
    # The last layer's horizontal output feeds only its skip: no residual 1x1.
    self.res = [ar_nn.MaskedDense(p) for _ in range(n - 1)]
    self.head = ar_nn.MaskedDense(self.head_channels)
    self.out = ar_nn.MaskedDense(self.distribution.num_params * self.input_shape[-1])
    if self.is_conditional:
      self.cond_v = [nn.Dense(2 * p, use_bias=False) for _ in range(n)]
      self.cond_h = [nn.Dense(2 * p, use_bias=False) for _ in range(n)]
    if tuple(self.cond_map_shape):
      self.upsample = nn.Conv(p, (3, 3), padding="SAME")

  def _kernel(self, l):
    return self.first_kernel if l == 0 else self.kernel_size

  def _masks(self):
    c, p = self.input_shape[-1], self.channels
    vert, horiz = [], []
    for l in range(self.num_layers + 1):
      k, cin = self._kernel(l), (c if l == 0 else p)
      vert.append(masks.vertical_stack_mask(k, k, cin, 2 * p))
      horiz.append(ci.gate_mask(masks.horizontal_stack_mask(k, "A" if l == 0 else "B", cin, p,
                                                            c)))
    return dict(v=vert, h=horiz, d=ci.dense_mask(p, p, c),
                head=ci.dense_mask(p, self.head_channels, c),
                out=ci.dense_mask(self.head_channels, self.out.features, c))

  def _horizontal(self, l, h_pre, h_in, m):
    """Gate, skip and residual of layer l: (skip [..., p], layer output [..., p] or None).

    Layer 0 starts the stream (no residual add: its input is the image); the
    last layer feeds only its skip.
    """
    last = l == self.num_layers
    out, skip = ar_nn.gated_residual(
        None if l == 0 or last else h_in, h_pre,
        skip=lambda g: self.skip[l](g, mask=m["d"]),
        residual=None if last else (lambda g: self.res[l](g, mask=m["d"])))
    return skip, out

  def _head(self, skip, m):
    return self.out(jax.nn.relu(self.head(jax.nn.relu(skip), mask=m["head"])), mask=m["out"])

  def __call__(self, x, cond=None):
    """Params [B, H, W, C, P] of every (pixel, channel) given the earlier ones."""
    ctx = self._context(cond, x.shape[0])
    m = self._masks()
    v_in = h_in = ci.image_features(self, x)
    skip = 0.0
    for l in range(self.num_layers + 1):
      v_pre = self.vconv[l](v_in, mask=m["v"][l]) + self._cond_term(self._cv(l), ctx)
      h_pre = (self.hconv[l](h_in, mask=m["h"][l]) + self.link[l](ar_nn.down_shift(v_pre))
               + self._cond_term(self._ch(l), ctx))
      s, h_in = self._horizontal(l, h_pre, h_in, m)
      skip = skip + s
      if l < self.num_layers:
        v_in = ar_nn.gated_activation(v_pre)
    out = self._head(skip, m)
    return out.reshape(out.shape[:3] + (self.input_shape[-1], -1))

  def _cv(self, l):
    return self.cond_v[l] if self.is_conditional else None

  def _ch(self, l):
    return self.cond_h[l] if self.is_conditional else None

  # ---- cache protocol ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # one ordering
    ctx = self._context(cond, batch_size)
    hgt, wid, c = self.input_shape
    q, r, p, n = self.first_kernel // 2, self.kernel_size // 2, self.channels, self.num_layers
    zeros = lambda *s: jnp.zeros((batch_size,) + s, jnp.float32)
    cache = {"x": zeros(hgt + 2 * q, wid + 2 * q, c),
             "v": [zeros(hgt + 2 * r, wid + 2 * r, p) for _ in range(n)],
             "h": [zeros(1, wid + 2 * r, p) for _ in range(n)],
             "link": [zeros(wid, 2 * p) for _ in range(n + 1)]}
    if ctx is not None and ctx.ndim == 4:
      cache["map"] = ctx  # the upsampled map, computed once
    return cache

  def _vertical_row(self, row, xmap, vmaps, ctx, m):
    """Vertical stack on image row `row` (complete): (pre-activations, inputs of l >= 1)."""
    wid, q, r = self.input_shape[1], self.first_kernel // 2, self.kernel_size // 2
    window = ci.patch(xmap, row, 0, 2 * q + 1, wid + 2 * q)  # rows row-q..row+q, padded
    pres, rows = [], []
    for l in range(self.num_layers + 1):
      v_pre = self.vconv[l](window, mask=m["v"][l], padding=ci.NO_PAD)[:, 0]
      v_pre = v_pre + self._cond_term(self._cv(l), ctx, row=row)
      pres.append(v_pre)
      if l < self.num_layers:
        rows.append(ar_nn.gated_activation(v_pre))
        # The next layer's window: the rows above from its cache, this row new
        # (rows below are masked out).
        window = jax.lax.dynamic_update_slice(
            ci.patch(vmaps[l], row, 0, 2 * r + 1, wid + 2 * r), rows[-1][:, None],
            (0, r, r, 0))
    return pres, rows

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of dim `step.dim`; the vertical stack advances once per row."""
    b = step.x_prev.shape[0]
    ctx = cache["map"] if "map" in cache else self._context(cond, b)
    m = self._masks()
    wid, q, r = self.input_shape[1], self.first_kernel // 2, self.kernel_size // 2
    i, j, g = ci.position(step.dim, self.input_shape)
    pi, pj, pg = ci.position(step.prev_dim, self.input_shape)
    # x_prev of class 0 is feature 0, what the cache holds: t = 0 needs no gate.
    feat_B = ci.value_table(self.num_classes)[step.x_prev]
    xmap = jax.lax.dynamic_update_slice(cache["x"], feat_B[:, None, None, None],
                                        (0, pi + q, pj + q, pg))
    above = i - 1  # the row the vertical stack feeds into row i

    def old_rows():
      return cache["link"], [ci.patch(v, above + r, r, 1, wid)[:, 0] for v in cache["v"]]

    links, rows = jax.lax.cond(
        (i > 0) & (j == 0) & (g == 0),
        lambda: self._vertical_row(above, xmap, cache["v"], ctx, m), old_rows)
    vmaps = [ci.write_row(v, row, above + r, r) for v, row in zip(cache["v"], rows)]

    window, h_in, skip, hbufs = ci.patch(xmap, i + q, j, 1, 2 * q + 1), None, 0.0, []
    for l in range(self.num_layers + 1):
      link_in = jax.lax.dynamic_index_in_dim(links[l], j, axis=1, keepdims=False)
      h_pre = (self.hconv[l](window, mask=m["h"][l], padding=ci.NO_PAD)[:, 0, 0]
               + self.link[l](link_in) + self._cond_term(self._ch(l), ctx, row=i, col=j))
      s, h_in = self._horizontal(l, h_pre, h_in, m)
      skip = skip + s
      if l < self.num_layers:
        hbufs.append(ci.write(cache["h"][l], h_in, 0, j + r))
        window = ci.patch(hbufs[-1], 0, j, 1, 2 * r + 1)
    out_BxCxP = self._head(skip, m).reshape(b, self.input_shape[-1], -1)
    params = jax.lax.dynamic_index_in_dim(out_BxCxP, g, axis=1, keepdims=False)
    new = {"x": xmap, "v": vmaps, "h": hbufs, "link": list(links)}
    if "map" in cache:
      new["map"] = cache["map"]
    return params, new

"""LMConv: PixelCNN++ with locally masked convolutions, any pixel order (Jain et al. 2020).

Every convolution is an `ar_jax.nn.LocallyMaskedConv2D`: a different kernel
mask at every pixel, built in numpy from the pixel order
(`ar_jax.masks.local_masks`; data passed at call time, never params). The
first layer takes mask A (a pixel sees the pixels strictly before it), the
others mask B (before it, or itself), so the output at a pixel depends only
on the pixels generated before it, under any order, with shared weights.

Network (the paper's variant of PixelCNN++, one stream, no down- or
up-sampling): a first k x k convolution, then `num_levels` blocks going up
of `num_resnet` gated ResNet layers (concat-ELU, a * sigmoid(b) gate), a
dilated k x k convolution (`dilation`) between blocks in place of PixelCNN++'s
strided ones; coming down, blocks of R, then R + 1 layers, each reading an
up-pass output through a 1x1 shortcut, and dilated convolutions in place of
the upsampling. With `normalization="pono"` (the authors' setting) the
outputs of the first and the dilated convolutions are normalized over the
channels at each position (positional normalization, no affine params).

Outputs (`output`):
- "categorical": a Bernoulli (K = 2) or K-way softmax per sub-pixel. Every
  layer's units are split into one group per channel (R -> G -> B, as in
  `pixelcnn`): the centre taps connect groups as PixelCNN's masks do, and
  concat-ELU, the gates and positional normalization act within groups, so
  channel c of a pixel sees channels < c of that pixel.
- "logistic": PixelCNN++'s discretized logistic mixture with the channel
  coupling (`PixelDiscretizedLogisticMixture`); the network has one group and
  `__call__` returns each channel's exact conditional (`channel_params`).

Orders: `ordering` (one spec) or `order_ensemble` (a tuple of specs), each spec a registered ordering name or a permutation of the H * W
pixels, laid out on (H, W); `order_symmetries` = n replaces every spec by its
first n flips and transposes (`masks.symmetries`: 8 for the paper's 8
S-curve orders). `orderings()` lists dims: pixels in order, the C channels
of a pixel in turn. Training (`train_log_prob`) draws one order per batch;
`log_prob` is the exact ensemble log mean_m p_m(x).

Completion with every observed pixel: the weights do not depend on the
order, so the same variables under `ordering=masks.observed_first(known)`
(observed pixels first) condition each missing pixel on all observed ones.

Cached sampling (exact: the same samples as the naive path for the same
key): the network is written once (`network`) against a run context of
`ar_jax.models.lmconv_runs`. A step computes every layer at the pixel being
generated only, each k x k layer from its padded input map in the cache
(written at that pixel first) under the pixel's row of the order's mask;
every other op acts on one position. An earlier pixel's activations are
final once computed, later pixels are masked off, so this is `__call__` at
that pixel. Cost per pixel O(L k^2 F^2) for L layers of width F (C times
that with "categorical" output: each sub-pixel reruns the pixel; "logistic"
runs it once per pixel), against O(H W L k^2 F^2) per sub-pixel for the
naive sampler; the cache holds one padded map per k x k layer. Order
ensembles and completion (`x_init`, `known`) take the same path:
`ar_jax.sample` generates every order and picks one per sample.
"""

import functools
import zlib
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax.models import base
from ar_jax.masks import local as local_masks
from ar_jax.models import checks
from ar_jax.models import lmconv_runs as runs
from ar_jax.nn import dropout as dropout_lib
from ar_jax.nn.local_masked import LocallyMaskedConv2D


@functools.lru_cache(maxsize=16)
def _stacked_masks(orders, height, width, kernel_size, dilation):
  """Per-location masks of every order, float32 [M, H * W, k * k] per layer kind."""
  def stack(dil, mask_type):
    return np.stack([masks.local_masks(np.asarray(o), height, width, kernel_size, dil,
                                       mask_type) for o in orders]).astype(np.float32)
  return {"A": stack(1, "A"), "B": stack(1, "B"), "dilated": stack(dilation, "B")}


def _grouped(x, groups):
  return x.reshape(x.shape[:-1] + (groups, x.shape[-1] // groups))


def _ungrouped(x):
  return x.reshape(x.shape[:-2] + (-1,))


def concat_elu(x, groups):
  """ELU of [x, -x] within each of `groups` contiguous channel groups."""
  y = _grouped(x, groups)
  return _ungrouped(jax.nn.elu(jnp.concatenate([y, -y], axis=-1)))


def sigmoid_gate(z, groups):
  """a * sigmoid(b), [a, b] the halves of each of `groups` channel groups of z."""
  a, b = jnp.split(_grouped(z, groups), 2, axis=-1)
  return _ungrouped(a * jax.nn.sigmoid(b))


def pono(x, groups, eps=1e-5):
  """Positional normalization: zero mean, unit variance over each group's channels."""
  y = _grouped(x, groups)
  mean = y.mean(-1, keepdims=True)
  var = ((y - mean) ** 2).mean(-1, keepdims=True)
  return _ungrouped((y - mean) * jax.lax.rsqrt(var + eps))


class LMConv(base.ARModel):
  """PixelCNN++ with locally masked convolutions over images [B, H, W, C].

  Attributes:
    input_shape: (H, W, C).
    num_classes: K values per channel (2: binary; 256: 8-bit).
    output: "categorical" (Bernoulli / softmax per sub-pixel) or "logistic"
      (PixelCNN++'s mixture with channel coupling).
    num_filters: F, the width of every layer (a multiple of C for
      "categorical": one group per channel).
    num_resnet: R, gated ResNet layers per block.
    num_levels: blocks per pass, with a dilated convolution between two.
    kernel_size: k, odd, of every convolution but the 1x1 ones.
    dilation: of the convolutions between blocks.
    num_mixtures: components of the "logistic" output.
    normalization: "pono" (positional normalization after the first and the
      dilated convolutions) or "none".
    dropout: rate inside the ResNet layers, in `train_log_prob` only.
    weight_norm: weight-normalize every kernel.
    ordering: the order: a registered name or a permutation of range(H * W)
      (or of the H * W * C dims, a pixel's channels together and in order).
    order_ensemble: a tuple of such specs, an order ensemble; () uses
      `ordering`. (Not `orderings`: that is the contract's method.)
    order_symmetries: n in 1..8: each spec gives its first n flips and
      transposes (`masks.symmetries`; 4 at most for H != W).
    seed: passed to the ordering functions ("random").
  Defaults: a small model that builds on images as small as 2 x 2.
  """
  input_shape: tuple
  num_classes: int = 2
  output: str = "categorical"
  num_filters: int = 12
  num_resnet: int = 1
  num_levels: int = 2
  kernel_size: int = 3
  dilation: int = 2
  num_mixtures: int = 2
  normalization: str = "pono"
  dropout: float = 0.0
  weight_norm: bool = True
  ordering: Any = "s_curve"
  order_ensemble: tuple = ()
  order_symmetries: int = 1
  seed: int = 0

  supports_cache: ClassVar[bool] = True

  def __post_init__(self):
    checks.check_input_shape(self, "(H, W, C)", rank=3)
    checks.check_int(self, "num_classes", low=2)
    checks.check_choice(self, "output", ("categorical", "logistic"))
    checks.check_choice(self, "normalization", ("pono", "none"))
    for key in ("num_resnet", "num_levels", "dilation", "num_mixtures"):
      checks.check_int(self, key)
    if self.output == "categorical":
      checks.check_channel_groups(self, "num_filters")
    else:
      checks.check_int(self, "num_filters")
    try:
      local_masks.kernel_pair(self.kernel_size)
    except ValueError:
      checks.fail(self, "kernel_size", "an odd int >= 1")
    checks.check_rate(self, "dropout")
    h, w, _ = self.input_shape
    checks.check_int(self, "order_symmetries")
    most = 8 if h == w else 4
    if self.order_symmetries > most:
      checks.fail(self, "order_symmetries", f"an int in 1..{most} for a {h}x{w} image",
                  f"use at most {most} (a transpose of a non-square image changes its shape)")
    object.__setattr__(self, "ordering", self._spec(self.ordering, "ordering"))
    specs = self.order_ensemble
    if isinstance(specs, (str, bytes)) or not hasattr(specs, "__iter__"):
      checks.fail(self, "order_ensemble", "a tuple of ordering specs (or () to use ordering)",
                  "e.g. order_ensemble=('s_curve', 'hilbert'); one order goes in ordering=")
    object.__setattr__(self, "order_ensemble", tuple(
        self._spec(s, f"order_ensemble[{i}]") for i, s in enumerate(specs)))
    super().__post_init__()

  def _spec(self, spec, key):
    """`spec` checked as a pixel order; an explicit one is stored as a tuple of ints."""
    self._pixel_order(spec, key)
    return spec if isinstance(spec, str) else tuple(int(i) for i in np.ravel(spec))

  def _pixel_order(self, spec, key):
    """The pixel order of `spec`, int [H * W]; raises naming `key` for a bad spec."""
    h, w, c = self.input_shape
    hint = (f"; pass a registered name ({', '.join(masks.ordering_names())}) or a "
            f"permutation of the {h * w} pixels (flat row-major over ({h}, {w}))")
    try:
      if isinstance(spec, str):
        return masks.get_ordering(spec, (h, w), seed=self.seed)
      order = np.ravel(np.asarray(spec))
      if c > 1 and order.size == h * w * c:  # dims: a pixel's channels together, in order
        pixel = order[::c] // c
        if not np.array_equal(order, (pixel[:, None] * c + np.arange(c)).ravel()):
          raise ValueError(f"the {h * w * c} dims do not keep each pixel's {c} channels "
                           "together and in order")
        order = pixel
      return masks.get_ordering(order, (h, w))
    except ValueError as e:
      raise ValueError(f"LMConv: {key}={spec!r} is not a pixel order of the {h}x{w} "
                       f"image: {e}{hint}") from None

  # ---- orders and their masks (static numpy) ----
  def pixel_orderings(self):
    """The generation orders of the pixels, int [M, H * W]."""
    h, w, _ = self.input_shape
    out = []
    for spec in self.order_ensemble or (self.ordering,):
      order = self._pixel_order(spec, "ordering")
      sym = masks.symmetries(order, (h, w)) if self.order_symmetries > 1 else order[None]
      out += list(sym[:self.order_symmetries])
    return np.stack(out)

  def orderings(self):
    c = self.input_shape[2]
    pix = self.pixel_orderings()
    return (pix[:, :, None] * c + np.arange(c)).reshape(pix.shape[0], -1)

  def order_masks(self, order_index):
    """Per-location masks [H * W, k * k] of order `order_index` (may be traced), by kind."""
    h, w, _ = self.input_shape
    orders = tuple(tuple(int(i) for i in o) for o in self.pixel_orderings())
    stacks = _stacked_masks(orders, h, w, self.kernel_size, self.dilation)
    return {kind: jnp.asarray(m)[order_index] for kind, m in stacks.items()}

  # ---- structure ----
  @property
  def groups(self):
    return self.input_shape[2] if self.output == "categorical" else 1

  @property
  def pixel_distribution(self):
    return distributions.PixelDiscretizedLogisticMixture(
        self.num_mixtures, self.input_shape[2], self.num_classes)

  @property
  def distribution(self):
    if self.output == "logistic":
      return self.pixel_distribution.channel_distribution
    return distributions.for_classes(self.num_classes)

  def _down_counts(self):  # coming down: R at the first (top) block, R + 1 after
    return [self.num_resnet + (i > 0) for i in range(self.num_levels)]

  def layer_specs(self):
    """(key, features, kind, input width) of every layer, in call order.

    kind: "A" (the first layer), "B" or "dilated" for a k x k locally masked
    convolution, None for a 1x1 one (fixed raster masks: channel groups only).
    """
    f, c = self.num_filters, self.input_shape[2]
    specs = [("first", f, "A", 2 * c)]
    for pass_, counts in (("up", [self.num_resnet] * self.num_levels),
                          ("dn", self._down_counts())):
      for l, n in enumerate(counts):
        for r in range(n):
          key = f"{pass_}{l}_{r}"
          specs += [(key + "_in", f, "B", 2 * f), (key + "_out", 2 * f, "B", 2 * f)]
          if pass_ == "dn":
            specs.append((key + "_nin", f, None, 2 * f))
        if l < self.num_levels - 1:
          specs.append((f"{pass_}{l}_dilated", f, "dilated", f))
    if self.output == "logistic":
      p = self.pixel_distribution.num_params
    else:
      p = c * self.distribution.num_params
    return specs + [("out", p, None, f)]

  def setup(self):
    g, k, wn = self.groups, self.kernel_size, self.weight_norm
    layers = {}
    for key, feats, kind, _ in self.layer_specs():
      if kind is None:
        layers[key] = LocallyMaskedConv2D(feats, 1, "B", channel_groups=g, fixed_raster=True,
                                          weight_norm=wn)
      else:
        layers[key] = LocallyMaskedConv2D(
            feats, k, "A" if kind == "A" else "B", channel_groups=g, weight_norm=wn,
            dilation=self.dilation if kind == "dilated" else 1)
    self.layers = layers

  # ---- network ----
  def _norm(self, x):
    return pono(x, self.groups) if self.normalization == "pono" else x

  def _resnet(self, run, key, x, a, drop):
    g = self.groups
    c1 = run.conv(key + "_in", concat_elu(x, g), "B")
    if a is not None:
      c1 = c1 + run.conv(key + "_nin", concat_elu(a, g), None)
    c1 = concat_elu(c1, g)
    if drop is not None:
      c1 = dropout_lib.dropout(c1, self.dropout,
                               jax.random.fold_in(drop, zlib.crc32(key.encode())))
    return x + sigmoid_gate(run.conv(key + "_out", c1, "B"), g)

  def network(self, run, feats, drop=None):
    """Network output [..., P_out] from the first layer's input feats [..., 2C].

    Whole maps [B, H, W, .] with a `lmconv_runs.FullRun`, one pixel [B, .] with
    a `PixelRun`: every op between convolutions acts on one position.
    """
    u = self._norm(run.conv("first", feats, "A"))
    stack = [u]
    for l in range(self.num_levels):
      for r in range(self.num_resnet):
        stack.append(u := self._resnet(run, f"up{l}_{r}", u, None, drop))
      if l < self.num_levels - 1:
        stack.append(u := self._norm(run.conv(f"up{l}_dilated", u, "dilated")))
    u = stack.pop()
    for l, n in enumerate(self._down_counts()):
      for r in range(n):
        u = self._resnet(run, f"dn{l}_{r}", u, stack.pop(), drop)
      if l < self.num_levels - 1:
        u = self._norm(run.conv(f"dn{l}_dilated", u, "dilated"))
    return run.conv("out", jax.nn.elu(u), None)

  def input_features(self, xv):
    """The first layer's input [..., 2C] from class values [..., C]: each channel's
    value in [-1, 1], then a channel of ones (zeros in the padding)."""
    y = 2.0 * xv / (self.num_classes - 1) - 1.0
    return jnp.stack([y, jnp.ones_like(y)], axis=-1).reshape(y.shape[:-1] + (-1,))

  def _full_net(self, xv, order_index, drop=None):
    """Network output [B, H, W, P_out] under order `order_index` from class values xv."""
    run = runs.FullRun(self, self.order_masks(order_index))
    return self.network(run, self.input_features(xv), drop)

  def _class_values(self, x):
    """Float class values [B, H, W, C]: NaN for invalid ints, the mean class of a one-hot."""
    return self.one_hot(x) @ jnp.arange(self.num_classes, dtype=jnp.float32)

  def _params(self, out, xv):
    if self.output == "logistic":
      return self.pixel_distribution.channel_params(out, xv)
    return out.reshape(out.shape[:3] + (self.input_shape[2], -1))

  def __call__(self, x, cond=None, order_index=0):
    """Params [B, H, W, C, P] of every sub-pixel given those before it in order `order_index`."""
    self.check_unconditional(cond)
    xv = self._class_values(x)
    return self._params(self._full_net(xv, order_index), xv)

  # ---- likelihood ----
  def _log_prob_one(self, x, order_index, drop=None):
    xv = self._class_values(x)
    out = self._full_net(xv, order_index, drop)
    if self.output == "logistic" and jnp.issubdtype(x.dtype, jnp.integer):
      return self.pixel_distribution.log_prob(out, x).reshape(x.shape[0], -1).sum(-1)
    return self.sum_log_prob(self._params(out, xv), x)

  def log_prob(self, x, cond=None, order_index=None):
    """[B] nats. With M > 1 orders and order_index=None: log mean_m p_m(x), exact."""
    self.check_unconditional(cond)
    if order_index is not None or self.num_orderings == 1:
      return self._log_prob_one(x, 0 if order_index is None else order_index)
    if self.is_initializing():  # create the params outside lax.map
      self._log_prob_one(x, 0)
    lp_MxB = jax.lax.map(lambda m: self._log_prob_one(x, m), jnp.arange(self.num_orderings))
    return jax.nn.logsumexp(lp_MxB, axis=0) - jnp.log(self.num_orderings)

  def train_log_prob(self, x, key, cond=None):
    """log p_m(x) under one order m drawn from `key` per batch; dropout from `key`."""
    self.check_unconditional(cond)
    k_order, k_drop = jax.random.split(key)
    m = jax.random.randint(k_order, (), 0, self.num_orderings)
    return self._log_prob_one(x, m, k_drop if self.dropout > 0 else None)

  # ---- cache protocol (`lmconv_runs`) ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # every step brings its own
    self.check_unconditional(cond)
    return runs.init_cache(self, batch_size)

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of dim `step.dim`: every layer at its pixel only."""
    self.check_unconditional(cond)
    return runs.cached_step(self, cache, step)

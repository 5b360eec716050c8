"""Diagonal BiLSTM (van den Oord et al. 2016, "Pixel Recurrent Neural Networks").

A 7x7 type-A masked convolution to a stream of 2h features, `num_layers`
residual Diagonal BiLSTM layers (each adds a 1x1 projection of its h outputs
back to 2h, the paper's Figure 4), and the output layers ReLU, 1x1, ReLU,
1x1 (type B) to a Bernoulli logit or K softmax logits per (pixel, channel).

One layer runs an LSTM along the image diagonals in two directions:

- input-to-state: a 1x1 type-B convolution of the stream to the 4h gate
  pre-activations (i, f, g, o) of each direction;
- skew (`ar_jax.nn.skew`): row i moves right by i, so the diagonal
  i + j = k becomes column k; a `lax.scan` along the skewed width computes
  one column per step;
- state-to-state: a column-wise 2x1 convolution of the previous column's
  hidden state. In image coordinates the left-to-right state at (i, j) reads
  the states at (i, j - 1) (and its cell) and (i - 1, j), so it sees every
  pixel at (i' <= i, j' <= j);
- the right-to-left direction is the same recurrence on the horizontally
  flipped image: its state at (i, j) sees every pixel at (i' <= i, j' >= j),
  the current row's future included. Its unskewed output is shifted down one
  row (`ar_jax.nn.down_shift`) before it is added to the left-to-right output,
  so (i, j) gets its state at (i - 1, j), which sees rows < i only. (Zeroing
  the last row instead, without the shift, leaks the pixels to the right:
  tests/test_diagonal_bilstm.py shows it.)

The layer as the paper describes it has one blind pixel: the stream at a
pixel never holds that pixel's own value (type-A first layer), so the
right-to-left states of row i - 1 never see pixel (i - 1, W - 1), and (i, j)
reaches it only through the first layer's window (j >= W - 1 - first_kernel
// 2). Here the right-to-left direction also reads the values of its own
pixel (`pixel_in`, a 1x1 projection of the data): its output reaches only the
next row, so that is causal, and then the two directions cover the whole
context, rows < i through both and the pixels left of (i, j) through the
left-to-right state (tests/test_diagonal_bilstm.py checks both by gradients).

RGB (C channels, R -> G -> B): every width is split into one group of units
per channel, the convolutions at the current pixel are channel-grouped
(type A first, type B after, the four gates of a unit in the unit's group),
so the units of channel c see channels < c of their pixel. Only what feeds
the current pixel is grouped: the state-to-state convolution reads the states
of other pixels, (i, j - 1) and (i - 1, j) for left-to-right, so any unit may
feed any gate; and the whole right-to-left direction of row i - 1 only
reaches row i, so its input-to-state convolution and `pixel_in` are not
masked at all (every channel of row i - 1 comes before pixel (i, j)).

Cached sampling (exact, one sub-pixel per step): the left-to-right direction
advances one pixel per step, from its row buffers (the states of row i - 1
and the state and cell at (i, j - 1)); the right-to-left direction of row
i - 1 runs once, at the first step of row i (`lax.cond`), as a scan over the
W columns of that complete row, from the right-to-left states of row i - 2
and the gate inputs stored while row i - 1 was generated. Per sub-pixel a
step costs one pixel's network, the 7x7 first layer at one pixel plus per
layer a 1x1 projection and one LSTM step, O(L h^2); once per row it adds the
right-to-left pass over a row, W LSTM steps per layer, O(W L h^2), i.e.
O(L h^2) per pixel amortized, independent of the image size. The naive
sampler runs the whole network, O(H W L h^2), at every sub-pixel.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax import nn as ar_nn
from ar_jax.models import base
from ar_jax.models import checks
from ar_jax.models import conv_image as ci
from ar_jax.nn import recurrent
from ar_jax.nn import skew as skew_lib

# Direction index of the stacked per-direction arrays, and tap index of the
# 2x1 state kernels (the state above / to the left in image coordinates).
L2R, R2L = 0, 1
ABOVE, LEFT = 0, 1


def _state_init(key, shape, dtype=jnp.float32):
  """[2 directions, 2 taps, h, 4h]: LeCun normal with fan-in 2h per direction."""
  return nn.initializers.lecun_normal(in_axis=(1, 2), out_axis=-1, batch_axis=(0,))(
      key, shape, dtype)


def _gate_bias_init(key, shape, dtype=jnp.float32):
  """[8h]: both directions' gate biases, forget gates at 1 (`lstm_forget_bias`).

  A new array per call: two layers must not share one buffer (donation).
  """
  del key
  return jnp.tile(recurrent.lstm_forget_bias(shape[0] // 8), 2).astype(dtype)


class DiagonalBiLSTM(base.ARModel):
  """Diagonal BiLSTM for binary or K-class images [B, H, W, C].

  Attributes:
    input_shape: (H, W, C).
    num_classes: K values per channel (2: Bernoulli outputs).
    num_layers: residual Diagonal BiLSTM layers (the paper: 7 on MNIST).
    hidden_channels: h, the LSTM units of each direction; the stream has 2h.
    head_channels: width of the hidden 1x1 output layer.
    first_kernel: size of the type-A first convolution (odd).
  Widths must be multiples of C (one group of units per channel). The
  defaults are small (CPU-sized, multiples of 3 so that RGB builds); the
  experiment configs set the paper's sizes.
  """
  input_shape: tuple
  num_classes: int = 2
  num_layers: int = 2
  hidden_channels: int = 6
  head_channels: int = 12
  first_kernel: int = 7

  supports_cache: ClassVar[bool] = True

  def __post_init__(self):
    checks.check_input_shape(self, "(H, W, C)", rank=3)
    checks.check_int(self, "num_classes", low=2)
    checks.check_int(self, "num_layers", low=1)
    checks.check_channel_groups(self, "hidden_channels", "head_channels")
    checks.check_int(self, "first_kernel", low=1)
    if self.first_kernel % 2 == 0:
      checks.fail(self, "first_kernel", "an odd int (the kernel centre is the current pixel)",
                  f"use {self.first_kernel + 1}")
    super().__post_init__()

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  # ---- layers and their (constant) masks ----
  def setup(self):
    h, n = self.hidden_channels, self.num_layers
    self.first = ar_nn.MaskedConv2D(2 * h, self.first_kernel)
    self.in_gates = [ar_nn.MaskedDense(8 * h, bias_init=_gate_bias_init) for _ in range(n)]
    self.state = [self.param(f"state_{l}", _state_init, (2, 2, h, 4 * h)) for l in range(n)]
    self.pixel_in = [nn.Dense(4 * h, use_bias=False) for _ in range(n)]
    self.up = [ar_nn.MaskedDense(2 * h) for _ in range(n)]
    self.head = ar_nn.MaskedDense(self.head_channels)
    self.out = ar_nn.MaskedDense(self.distribution.num_params * self.input_shape[-1])

  def _masks(self):
    c, h, k = self.input_shape[-1], self.hidden_channels, self.first_kernel
    # Left-to-right: the four gates of a unit in its group; right-to-left: all ones.
    gates = [ci.dense_mask(2 * h, h, c)] * 4 + [np.ones((2 * h, 4 * h), np.float32)]
    return dict(first=masks.conv_mask(k, k, c, 2 * h, "A", c),
                gates=np.concatenate(gates, axis=-1), up=ci.dense_mask(h, 2 * h, c),
                head=ci.dense_mask(2 * h, self.head_channels, c),
                out=ci.dense_mask(self.head_channels, self.out.features, c))

  def _head(self, a, m):
    return self.out(jax.nn.relu(self.head(jax.nn.relu(a), mask=m["head"])), mask=m["out"])

  # ---- the full pass ----
  def directions(self, l, a_BxHxWx2h, feats_BxHxWxC, m=None):
    """Layer l's two directions: (left-to-right, right-to-left) [B, H, W, h].

    From the stream `a` and the data features (`ci.image_features`), which
    only the right-to-left direction reads (`pixel_in`).

    Both unshifted: at (i, j) the right-to-left output has seen the pixels
    right of (i, j); `__call__` adds it shifted down one row.
    """
    m = self._masks() if m is None else m
    wid = a_BxHxWx2h.shape[2]
    gates_BxHxWx8h = self.in_gates[l](a_BxHxWx2h, mask=m["gates"])
    fwd, bwd = jnp.split(gates_BxHxWx8h, 2, axis=-1)
    bwd = bwd + self.pixel_in[l](feats_BxHxWxC)
    gates_2xBxHxSxG = jnp.stack([skew_lib.skew(fwd), skew_lib.skew(bwd[:, :, ::-1])])
    h_2xBxHxSxh = self._diagonal_scan(l, gates_2xBxHxSxG, wid)
    return skew_lib.unskew(h_2xBxHxSxh[L2R], wid), skew_lib.unskew(h_2xBxHxSxh[R2L], wid)[:, :, ::-1]

  def _diagonal_scan(self, l, gates_2xBxHxSxG, width):
    """The LSTM along the skewed columns, both directions at once: h [2, B, H, S, h].

    States outside the image (`skew_mask`) are kept at zero, so the borders
    read zeros, as the row-by-row cache does.
    """
    _, b, hgt, _, _ = gates_2xBxHxSxG.shape
    kernel = self.state[l]
    valid_SxH = jnp.asarray(skew_lib.skew_mask(hgt, width).T, jnp.float32)

    def column(carry, inputs):
      h_2xBxHxh, c_2xBxHxh = carry
      gates_in, valid_H = inputs
      above = jnp.pad(h_2xBxHxh, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]
      gates = (gates_in + jnp.einsum("dbhk,dkg->dbhg", above, kernel[:, ABOVE])
               + jnp.einsum("dbhk,dkg->dbhg", h_2xBxHxh, kernel[:, LEFT]))
      h_new, c_new = recurrent.lstm_update(gates, c_2xBxHxh)
      valid = valid_H[None, None, :, None]
      return (h_new * valid, c_new * valid), h_new * valid

    zeros = jnp.zeros((2, b, hgt, self.hidden_channels), jnp.float32)
    _, h_Sx2xBxHxh = jax.lax.scan(column, (zeros, zeros),
                                  (jnp.moveaxis(gates_2xBxHxSxG, 3, 0), valid_SxH))
    return jnp.moveaxis(h_Sx2xBxHxh, 0, 3)

  def __call__(self, x, cond=None):
    """Params [B, H, W, C, P] of every (pixel, channel) given the earlier ones."""
    self.check_unconditional(cond)
    m = self._masks()
    feats = ci.image_features(self, x)
    a = self.first(feats, mask=m["first"])
    for l in range(self.num_layers):
      fwd, bwd = self.directions(l, a, feats, m)
      a = a + self.up[l](fwd + ar_nn.down_shift(bwd), mask=m["up"])
    out = self._head(a, m)
    return out.reshape(out.shape[:3] + (self.input_shape[-1], -1))

  # ---- cache protocol ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    """Zero buffers: the padded data map and, per layer, row buffers of both directions.

    Per layer: `above` [B, W, h], the left-to-right states of row i - 1;
    `row` / `cell` [B, W + 1, h], the left-to-right states and cells of row i
    (column j + 1 holds pixel j; column 0 is the zero left border);
    `rl_in` [B, W, 4h], the right-to-left gate inputs from the stream of the
    row being generated (`pixel_in` is added once the row is complete); `rl` [B, W, h], the right-to-left states of row i - 1 (what
    row i adds).
    """
    del order_index  # one ordering
    self.check_unconditional(cond)
    hgt, wid, c = self.input_shape
    h, q = self.hidden_channels, self.first_kernel // 2
    zeros = lambda *s: jnp.zeros((batch_size,) + s, jnp.float32)
    layer = lambda: {"above": zeros(wid, h), "row": zeros(wid + 1, h), "cell": zeros(wid + 1, h),
                     "rl_in": zeros(wid, 4 * h), "rl": zeros(wid, h)}
    return {"x": zeros(hgt + 2 * q, wid + 2 * q, c),
            "layers": [layer() for _ in range(self.num_layers)]}

  def _right_to_left_row(self, l, rl_in_BxWx4h, rl_above_BxWxh):
    """The right-to-left states [B, W, h] of a complete row, from the row above's."""
    kernel = self.state[l][R2L]

    def cell(carry, inputs):  # one column, right to left: carry is column j + 1's (h, c)
      h_Bxh, c_Bxh = carry
      gates_in, above = inputs
      gates = gates_in + above @ kernel[ABOVE] + h_Bxh @ kernel[LEFT]
      h_new, c_new = recurrent.lstm_update(gates, c_Bxh)
      return (h_new, c_new), h_new

    zeros = jnp.zeros_like(rl_above_BxWxh[:, 0])
    _, h_WxBxh = jax.lax.scan(cell, (zeros, zeros), (jnp.moveaxis(rl_in_BxWx4h, 1, 0),
                                                      jnp.moveaxis(rl_above_BxWxh, 1, 0)),
                              reverse=True)
    return jnp.moveaxis(h_WxBxh, 0, 1)

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of dim `step.dim`: one pixel's network; right-to-left once per row."""
    self.check_unconditional(cond)
    m = self._masks()
    i, j, g = ci.position(step.dim, self.input_shape)
    pi, pj, pg = ci.position(step.prev_dim, self.input_shape)
    k1, q = self.first_kernel, self.first_kernel // 2
    # x_prev of class 0 is feature 0, what the cache holds: t = 0 needs no gate.
    feat_B = ci.value_table(self.num_classes)[step.x_prev]
    patch = ci.with_value(ci.patch(cache["x"], i, j, k1, k1), feat_B, pi + q - i, pj + q - j, pg)
    xmap = jax.lax.dynamic_update_slice(cache["x"], feat_B[:, None, None, None],
                                        (0, pi + q, pj + q, pg))

    def new_row():  # row i - 1 is complete: its right-to-left pass, and it becomes "above"
      feats_BxWxC = ci.patch(xmap, i - 1 + q, q, 1, self.input_shape[1])[:, 0]
      return [dict(lc, above=lc["row"][:, 1:], rl=self._right_to_left_row(
          l, lc["rl_in"] + self.pixel_in[l](feats_BxWxC), lc["rl"]))
              for l, lc in enumerate(cache["layers"])]

    layers = jax.lax.cond((i > 0) & (j == 0) & (g == 0), new_row, lambda: cache["layers"])
    a = self.first(patch, mask=m["first"], padding=ci.NO_PAD)[:, 0, 0]
    new_layers = []
    for l, lc in enumerate(layers):
      fwd, bwd = jnp.split(self.in_gates[l](a, mask=m["gates"]), 2, axis=-1)
      kernel = self.state[l][L2R]
      at = lambda buf, col: jax.lax.dynamic_index_in_dim(buf, col, axis=1, keepdims=False)
      gates = fwd + at(lc["above"], j) @ kernel[ABOVE] + at(lc["row"], j) @ kernel[LEFT]
      h_Bxh, c_Bxh = recurrent.lstm_update(gates, at(lc["cell"], j))
      put = lambda buf, v, col: jax.lax.dynamic_update_index_in_dim(buf, v, col, axis=1)
      new_layers.append(dict(lc, row=put(lc["row"], h_Bxh, j + 1),
                             cell=put(lc["cell"], c_Bxh, j + 1),
                             rl_in=put(lc["rl_in"], bwd, j)))
      a = a + self.up[l](h_Bxh + at(lc["rl"], j), mask=m["up"])
    out_BxCxP = self._head(a, m).reshape(a.shape[0], self.input_shape[-1], -1)
    params = jax.lax.dynamic_index_in_dim(out_BxCxP, g, axis=1, keepdims=False)
    return params, {"x": xmap, "layers": new_layers}

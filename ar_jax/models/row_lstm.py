"""Row LSTM (van den Oord et al. 2016, "Pixel Recurrent Neural Networks").

A 7x7 type-A masked convolution maps the image to a stream of 2h features;
`num_layers` Row LSTM layers follow, each added to the stream (residual
connections), then ReLU, 1x1, ReLU, 1x1 output layers give the params of
every (pixel, channel): a Bernoulli logit (K = 2) or K softmax logits.

A Row LSTM layer processes the image one row at a time (`jax.lax.scan` over
rows). Its gates i, f, g, o [4h] at pixel (i, j) are the sum of

- the input-to-state part: a 1 x k convolution along row i of the stream,
  type-B masked, so it reads columns j - k//2 .. j (the pixel itself and
  those to its left), computed for the whole image at once;
- the state-to-state part: an unmasked 1 x k convolution over the previous
  row's hidden state h_{i-1}, columns j - k//2 .. j + k//2 (row i - 1 is
  complete before row i starts; h_{-1} = 0).

The cell is `ar_jax.nn.recurrent.lstm_update` with c_{i-1} at the same column;
h [h] goes through a type-B 1x1 convolution up to 2h and is added to the
stream. Each layer widens the receptive field by k//2 columns on each side
for every row it reaches up: a triangle above the pixel, not the whole
context (tests/test_row_lstm.py checks the exact set by gradients).

Pixels are generated in raster order and the C channels of a pixel in turn
(R -> G -> B): every width is split into C groups, the first layer, the
input-to-state convolutions and the 1x1 layers are channel-grouped
(`ar_jax.masks.conv_mask(..., channel_groups=C)`), and the four gates of a
hidden unit belong to its group, so channel c of a pixel sees only channels
< c of that pixel. The previous row is fully known, so the state-to-state
convolution needs no mask.

Cached sampling: a step is one sub-pixel and runs the network at its pixel
only. Per layer the cache keeps the stream's current row (zero-padded, the
input-to-state window) and two rows of h and c: the previous row, read by the
state-to-state convolution and the cell, and the row being written (the two
swap roles at every row: slot i % 2 is row i). A step costs the network at one
pixel: the first layer on a 7x7 patch, per layer a 1 x k window of the stream
and of h_{i-1}, and the 1x1 layers.
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


def row_conv(h_BxWxH, kernel_KxHxG, pad):
  """1-D convolution along a row: [B, W, H] -> [B, W + 2 pad - K + 1, G]."""
  return jax.lax.conv_general_dilated(h_BxWxH, kernel_KxHxG, window_strides=(1,),
                                      padding=((pad, pad),),
                                      dimension_numbers=("NWC", "WIO", "NWC"))


class RowLSTM(base.ARModel):
  """Row LSTM for binary or K-class images [B, H, W, C].

  Attributes:
    input_shape: (H, W, C).
    num_classes: K values per channel (2: Bernoulli outputs).
    num_layers: Row LSTM layers (the paper: 12 on CIFAR-10).
    hidden_channels: h, the LSTM units per layer; the stream has 2h.
    head_channels: width of the hidden 1x1 output layer.
    first_kernel: size of the type-A first convolution (odd).
    kernel_size: k, the width of the input-to-state and state-to-state
      convolutions (odd; the paper's 3).
  All widths must be multiples of C (one group of units per channel). The
  defaults (ours: 2 layers, h = 24) are small, multiples of 3, and build on
  any image size; the paper's sizes are in the experiment configs.
  """
  input_shape: tuple
  num_classes: int = 2
  num_layers: int = 2
  hidden_channels: int = 24
  head_channels: int = 48
  first_kernel: int = 7
  kernel_size: int = 3

  supports_cache: ClassVar[bool] = True

  def __post_init__(self):
    checks.check_input_shape(self, "(H, W, C)", rank=3)
    checks.check_int(self, "num_classes", low=2)
    checks.check_channel_groups(self, "hidden_channels", "head_channels")
    checks.check_int(self, "num_layers", low=0)
    for key in ("first_kernel", "kernel_size"):
      v = getattr(self, key)
      if not isinstance(v, (int, np.integer)) or v < 1 or v % 2 == 0:
        checks.fail(self, key, "a positive odd int",
                    "the kernel is centred on the current pixel, e.g. 7 or 3")
    super().__post_init__()

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  # ---- layers and their (constant) masks ----
  def setup(self):
    h, k = self.hidden_channels, self.kernel_size
    p = self.distribution.num_params * self.input_shape[-1]
    gate_bias = lambda key, shape, dtype: recurrent.lstm_forget_bias(h).astype(dtype)
    self.first = ar_nn.MaskedConv2D(2 * h, self.first_kernel)
    self.input_state = [ar_nn.MaskedConv2D(4 * h, (1, k), bias_init=gate_bias)
                        for _ in range(self.num_layers)]
    # The state-to-state kernels [k, h, 4h] are plain params: `_rows` applies
    # them inside `lax.scan`, where no Flax submodule is called.
    self.state_state = [self.param(f"state_state_{l}", nn.initializers.lecun_normal(),
                                   (k, h, 4 * h)) for l in range(self.num_layers)]
    self.up = [ar_nn.MaskedDense(2 * h) for _ in range(self.num_layers)]
    self.head = ar_nn.MaskedDense(self.head_channels)
    self.out = ar_nn.MaskedDense(p)

  def _masks(self):
    c, h, k = self.input_shape[-1], self.hidden_channels, self.kernel_size
    p = self.distribution.num_params * c
    gates = masks.conv_mask(1, k, 2 * h, h, "B", c)
    return dict(
        first=masks.conv_mask(self.first_kernel, self.first_kernel, c, 2 * h, "A", c),
        # Gate order i, f, g, o: the same groups for each of the four.
        input_state=np.concatenate([gates] * 4, axis=-1),
        up=ci.dense_mask(h, 2 * h, c), head=ci.dense_mask(2 * h, self.head_channels, c),
        out=ci.dense_mask(self.head_channels, p, c))

  def _head(self, a, m):
    return self.out(jax.nn.relu(self.head(jax.nn.relu(a), mask=m["head"])), mask=m["out"])

  def _rows(self, l, gates_BxHxWxG):
    """Layer l's hidden states [B, H, W, h]: the LSTM scanned over the rows."""
    b, _, wid, _ = gates_BxHxWxG.shape
    kernel, r = self.state_state[l], self.kernel_size // 2

    def step(carry, gates_BxWxG):
      h_BxWxH, c_BxWxH = carry
      h_BxWxH, c_BxWxH = recurrent.lstm_update(
          gates_BxWxG + row_conv(h_BxWxH, kernel, r), c_BxWxH)
      return (h_BxWxH, c_BxWxH), h_BxWxH

    zeros = jnp.zeros((b, wid, self.hidden_channels), jnp.float32)
    _, h_HxBxWxH = jax.lax.scan(step, (zeros, zeros), jnp.moveaxis(gates_BxHxWxG, 1, 0))
    return jnp.moveaxis(h_HxBxWxH, 0, 1)

  def __call__(self, x, cond=None):
    """Params [B, H, W, C, P] of every (pixel, channel) given the earlier ones."""
    self.check_unconditional(cond)
    m = self._masks()
    a = self.first(ci.image_features(self, x), mask=m["first"])
    for l in range(self.num_layers):
      h = self._rows(l, self.input_state[l](a, mask=m["input_state"]))
      a = a + self.up[l](h, mask=m["up"])
    out = self._head(a, m)
    return out.reshape(out.shape[:3] + (self.input_shape[-1], -1))

  # ---- cache protocol ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # one ordering
    self.check_unconditional(cond)
    hgt, wid, c = self.input_shape
    h, pad1, r = self.hidden_channels, 2 * (self.first_kernel // 2), self.kernel_size // 2
    zeros = lambda *shape: jnp.zeros((batch_size,) + shape, jnp.float32)
    return {"x": zeros(hgt + pad1, wid + pad1, c),
            # Per layer: the stream's current row; h and c of rows i - 1 and i
            # (slot i % 2 holds row i; both start at zero, the row above row 0).
            "a": [zeros(1, wid + 2 * r, 2 * h) for _ in range(self.num_layers)],
            "h": [zeros(2, wid + 2 * r, h) for _ in range(self.num_layers)],
            "c": [zeros(2, wid, h) for _ in range(self.num_layers)]}

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of dim `step.dim`: the network at its pixel only."""
    self.check_unconditional(cond)
    m = self._masks()
    i, j, g = ci.position(step.dim, self.input_shape)
    pi, pj, pg = ci.position(step.prev_dim, self.input_shape)
    q, k, r = self.first_kernel // 2, self.kernel_size, self.kernel_size // 2
    # x_prev of class 0 is feature 0, what the cache holds: t = 0 needs no gate.
    feat_B = ci.value_table(self.num_classes)[step.x_prev]
    k1 = self.first_kernel
    patch = ci.with_value(ci.patch(cache["x"], i, j, k1, k1), feat_B, pi + q - i, pj + q - j, pg)
    xmap = jax.lax.dynamic_update_slice(cache["x"], feat_B[:, None, None, None],
                                        (0, pi + q, pj + q, pg))
    a = self.first(patch, mask=m["first"], padding=ci.NO_PAD)[:, 0, 0]
    cur, prev = i % 2, (i + 1) % 2
    new = {"x": xmap, "a": [], "h": [], "c": []}
    for l in range(self.num_layers):
      # The stream's row window, columns j - r .. j + r, with a at its centre;
      # columns right of j hold stale values that the type-B mask ignores.
      a_patch = jax.lax.dynamic_update_slice(ci.patch(cache["a"][l], 0, j, 1, k),
                                             a[:, None, None], (0, 0, r, 0))
      new["a"].append(jax.lax.dynamic_update_slice(cache["a"][l], a_patch, (0, 0, j, 0)))
      gates = self.input_state[l](a_patch, mask=m["input_state"], padding=ci.NO_PAD)[:, 0]
      h_above = ci.patch(cache["h"][l], prev, j, 1, k)[:, 0]
      gates = gates + row_conv(h_above, self.state_state[l], 0)
      c_above = ci.patch(cache["c"][l], prev, j, 1, 1)[:, 0]
      h_new, c_new = recurrent.lstm_update(gates, c_above)
      new["h"].append(ci.write(cache["h"][l], h_new[:, 0], cur, j + r))
      new["c"].append(ci.write(cache["c"][l], c_new[:, 0], cur, j))
      a = a + self.up[l](h_new[:, 0], mask=m["up"])
    out_BxCxP = self._head(a, m).reshape(a.shape[0], self.input_shape[-1], -1)
    params = jax.lax.dynamic_index_in_dim(out_BxCxP, g, axis=1, keepdims=False)
    return params, new

"""Char-RNN: an embedding, stacked tanh-RNN / GRU / LSTM layers, a softmax.

    p(x_t | x_<t) = softmax(W_out h^L_t + b_out),
    h^l_t = cell(h^{l-1}_t, h^l_{t-1}),   h^0_t = embed(x_{t-1}), h^0_0 = 0

The input is shifted right by one step (`ar_jax.nn.causal_shift`, zeros at
t = 0), so output t sees x_<t only. Each layer runs as one `lax.scan` over
time; its input projection for all T positions is a single matmul before
the scan, so only the recurrent matmul [B, H] x [H, G H] is sequential.

Cells (G gates, PyTorch's gate equations):
  rnn:  h = tanh(W x + U h + b)
  gru:  r, z = sigmoid(...); n = tanh(W_n x + b_n + r * (U_n h + c_n));
        h = (1 - z) n + z h
  lstm: i, f, g, o = sigmoid, sigmoid, tanh, sigmoid (W x + U h + b);
        c = f c + i g; h = o tanh(c)   (forget-gate bias initialized to 1)

Dropout (`dropout` > 0, training only, through `train_log_prob`'s key) is
applied to every layer's output (inter-layer dropout, Zaremba et al. 2014:
non-recurrent connections only), including the top layer's before the
softmax; evaluation and sampling never drop.

Cache: the recurrent state (h, and c for the LSTM) of every layer, [L, B, H];
one `cached_step` advances it by one character, O(1) per step instead of
the naive sampler's O(T), with the same step function as the scan.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ar_jax import distributions
from ar_jax import nn as ar_nn
from ar_jax.models import base
from ar_jax.models import checks
from ar_jax.nn import dropout as dropout_lib
from ar_jax.nn import recurrent

CELLS = recurrent.CELLS


class CharRNN(base.ARModel):
  """Recurrent character model over sequences `[B, T]` of K classes.

  Attributes:
    input_shape: (T,), the sequence length (params do not depend on it).
    num_classes: K, the vocabulary size.
    cell: "rnn" (tanh), "gru" or "lstm".
    hidden_size: H, units per layer.
    num_layers: L.
    embed_size: E, the character embedding width.
    dropout: inter-layer dropout rate in training (module docstring).
  """
  input_shape: tuple
  num_classes: int = 2
  cell: str = "lstm"
  hidden_size: int = 256
  num_layers: int = 2
  embed_size: int = 64
  dropout: float = 0.0

  supports_cache: ClassVar[bool] = True

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  def __post_init__(self):
    checks.check_input_shape(self, "(T,)", rank=1)
    checks.check_int(self, "num_classes", low=2)
    checks.check_choice(self, "cell", sorted(CELLS))
    for key in ("hidden_size", "num_layers", "embed_size"):
      checks.check_int(self, key)
    checks.check_rate(self, "dropout")
    super().__post_init__()

  def setup(self):
    g, h = CELLS[self.cell], self.hidden_size
    self.embed = self.param("embed", nn.initializers.normal(1.0),
                            (self.num_classes, self.embed_size))
    layers = []
    for l in range(self.num_layers):
      fan_in = self.embed_size if l == 0 else h
      bias = recurrent.lstm_forget_bias(h) if self.cell == "lstm" else jnp.zeros((g * h,))
      layers.append({
          "w": self.param(f"w_{l}", nn.initializers.lecun_normal(), (fan_in, g * h)),
          "u": self.param(f"u_{l}", nn.initializers.orthogonal(column_axis=-1), (h, g * h)),
          "b": self.param(f"b_{l}", lambda _, b=bias: b),
          "c": (self.param(f"c_{l}", nn.initializers.zeros, (g * h,))
                if self.cell == "gru" else None),
      })
    self.layers = layers
    self.out = nn.Dense(self.distribution.num_params, name="out")

  def _embed(self, onehot_BxTxK):
    return onehot_BxTxK @ self.embed

  def _outputs(self, x, key):
    """Params [B, T, P]; `key` drives dropout (None: no dropout)."""
    b = x.shape[0]
    h_BxTxH = ar_nn.causal_shift(self._embed(self.one_hot(x)), axis=1)
    zeros = jnp.zeros((b, self.hidden_size), h_BxTxH.dtype)
    keys = (jax.random.split(key, self.num_layers) if key is not None and self.dropout
            else [None] * self.num_layers)
    for layer, k in zip(self.layers, keys):
      xproj_TxBxG = (h_BxTxH @ layer["w"] + layer["b"][None, None]).transpose(1, 0, 2)

      def body(state, xproj_BxG, layer=layer):
        h, c = recurrent.cell_step(self.cell, xproj_BxG, *state, layer["u"], layer["c"])
        return (h, c), h

      _, h_TxBxH = jax.lax.scan(body, (zeros, zeros), xproj_TxBxG)
      h_BxTxH = h_TxBxH.transpose(1, 0, 2)
      h_BxTxH = dropout_lib.dropout(h_BxTxH, self.dropout, k)
    return self.out(h_BxTxH)

  def __call__(self, x, cond=None):
    self.check_unconditional(cond)
    return self._outputs(x, None)

  def train_log_prob(self, x, key, cond=None):
    """Log-likelihood with inter-layer dropout drawn from `key` (if dropout > 0)."""
    self.check_unconditional(cond)
    self.check_input(x)
    return self.sum_log_prob(self._outputs(x, key), x)

  # ---- cache protocol: every layer's recurrent state ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # one ordering
    self.check_unconditional(cond)
    zeros = jnp.zeros((self.num_layers, batch_size, self.hidden_size), jnp.float32)
    return {"h": zeros, "c": zeros}

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of position `step.dim`, after feeding it `step.x_prev`.

    Position t reads the embedding of x_{t-1} (zeros at t = 0, as the shift
    in `__call__`) and advances each layer's state by one step of the same
    cell function the scan uses.
    """
    self.check_unconditional(cond)
    onehot_BxK = base.guarded_one_hot(step.x_prev, self.num_classes)
    inp_BxE = jnp.where(step.t > 0, self._embed(onehot_BxK), 0.0)
    hs, cs = [], []
    for l, layer in enumerate(self.layers):
      xproj_BxG = inp_BxE @ layer["w"] + layer["b"][None]
      h, c = recurrent.cell_step(self.cell, xproj_BxG, cache["h"][l], cache["c"][l],
                        layer["u"], layer["c"])
      hs.append(h)
      cs.append(c)
      inp_BxE = h
    return self.out(inp_BxE), {"h": jnp.stack(hs), "c": jnp.stack(cs)}

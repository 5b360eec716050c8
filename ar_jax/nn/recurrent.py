"""Recurrent cells as pure step functions, shared by every recurrent model.

`lstm_update` is the LSTM nonlinearity on precomputed gate pre-activations,
so a model chooses how the gates are computed: dense projections (Char-RNN),
k x 1 convolutions over the previous row (Row LSTM) or 2 x 1 convolutions
over the previous skewed column (Diagonal BiLSTM). `cell_step` is one step
of a dense tanh-RNN / GRU / LSTM cell (PyTorch's gate equations).
"""

import jax
import jax.numpy as jnp

CELLS = {"rnn": 1, "gru": 3, "lstm": 4}  # cell -> gates G


def lstm_update(gates_xG, c_xH):
  """The LSTM step from gate pre-activations `[..., 4H]` in order i, f, g, o.

      c' = sigmoid(f) c + sigmoid(i) tanh(g),   h' = sigmoid(o) tanh(c')

  Returns (h', c'), each `[..., H]`.
  """
  i, f, g, o = jnp.split(gates_xG, 4, axis=-1)
  c_xH = jax.nn.sigmoid(f) * c_xH + jax.nn.sigmoid(i) * jnp.tanh(g)
  return jax.nn.sigmoid(o) * jnp.tanh(c_xH), c_xH


def lstm_forget_bias(hidden_size, gates=4):
  """A zero gate bias `[gates * H]` with the forget gate's slice at 1.

  An open forget gate at initialization keeps long memory from step 0.
  """
  return jnp.zeros((gates * hidden_size,)).at[hidden_size:2 * hidden_size].set(1.0)


def cell_step(cell, xproj_BxG, h_BxH, c_BxH, u_HxG, c_bias_G):
  """One time step of `cell` ("rnn", "gru", "lstm"): (h, c) from the state.

  `xproj_BxG` = W x + b was computed for all positions at once; `c_bias_G`
  is the GRU's recurrent bias of its candidate (None for the other cells);
  `c_BxH` is the LSTM's cell state (passed through unchanged by the others).
  """
  hproj_BxG = h_BxH @ u_HxG
  if cell == "rnn":
    return jnp.tanh(xproj_BxG + hproj_BxG), c_BxH
  if cell == "gru":
    xr, xz, xn = jnp.split(xproj_BxG, 3, axis=-1)
    hr, hz, hn = jnp.split(hproj_BxG + c_bias_G[None], 3, axis=-1)
    r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
    n = jnp.tanh(xn + r * hn)
    return (1.0 - z) * n + z * h_BxH, c_BxH
  return lstm_update(xproj_BxG + hproj_BxG, c_BxH)

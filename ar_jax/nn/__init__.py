"""Flax layers for autoregressive models (masked, causal, gated), shared by the models.

- `ar_jax.nn.masked`: `MaskedDense` (MADE, FVSBN, the 1x1 layers of the
  PixelCNNs; the mask may be passed at call time and traced, as for a MADE
  pool) and `MaskedConv2D` (PixelCNN, Gated PixelCNN), and `masked_kernel` /
  `add_bias`, the one way a layer declares its weights (`kernel * mask`,
  optional weight norm; masks are never params).
- `ar_jax.nn.local_masked`: `LocallyMaskedConv2D` (LMConv), a different
  kernel mask at every pixel from any pixel order (im2col, per-location
  mask, one matmul), or the raster order over its live taps only.
- `ar_jax.nn.causal`: `CausalConv1D` (WaveNet), `causal_shift` and
  `down_shift` (Gated PixelCNN).
- `ar_jax.nn.gated`: `gated_activation` (tanh x sigmoid), `sigmoid_gate`
  (x sigmoid) and `gated_residual`, the gated residual core of WaveNet, Gated
  PixelCNN and PixelCNN++.
- `ar_jax.nn.shifted`: PixelCNN++'s down / down-right shifted convolutions
  (`ShiftedConv2D`, `ShiftedDeconv2D` on `pad_shifted` input), `NiN`,
  `right_shift`, `concat_elu`.
- `ar_jax.nn.attention`: `CausalSelfAttention` with an explicit key/value
  cache (`kv_cache`, a pytree passed in and returned), `attend`, `softmax`
  (Transformer).
- `ar_jax.nn.recurrent`: `lstm_update` (the LSTM step from gate
  pre-activations, however the gates are computed), `cell_step` (dense
  tanh-RNN / GRU / LSTM step) and `lstm_forget_bias` (Char-RNN, Row LSTM,
  Diagonal BiLSTM).
- `ar_jax.nn.dropout`: `dropout` with an explicit key (identity without one).
- `ar_jax.nn.skew`: `skew` / `unskew` (image diagonals become columns) and
  `skew_mask` (Diagonal BiLSTM); its right-to-left shift is `down_shift`.

`dropout`, `recurrent` and `skew` are used through their modules (`from ar_jax.nn import
skew as skew_lib`): re-exporting a function named like its module here would
hide the module.
"""

from ar_jax.nn.causal import CausalConv1D, causal_shift, down_shift
from ar_jax.nn.gated import gated_activation, gated_residual, sigmoid_gate
from ar_jax.nn.local_masked import LocallyMaskedConv2D
from ar_jax.nn.masked import MaskedConv2D, MaskedDense, add_bias, masked_kernel
from ar_jax.nn.shifted import (NiN, ShiftedConv2D, ShiftedDeconv2D, concat_elu, pad_shifted,
                               right_shift)

__all__ = ["CausalConv1D", "LocallyMaskedConv2D", "MaskedConv2D", "MaskedDense", "NiN", "ShiftedConv2D",
           "ShiftedDeconv2D", "add_bias", "causal_shift", "concat_elu", "down_shift",
           "gated_activation", "gated_residual", "masked_kernel", "pad_shifted", "right_shift",
           "sigmoid_gate"]

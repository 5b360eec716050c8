"""Flax layers for autoregressive models (masked, causal), shared by the models.

- `ar_jax.nn.masked`: `MaskedDense` (MADE, FVSBN; the mask may be passed at
  call time and traced, as for a MADE pool) and `MaskedConv2D` (PixelCNN), and
  `masked_kernel` / `add_bias`, the one way a layer declares its weights
  (`kernel * mask`, optional weight norm; masks are never params).
- `ar_jax.nn.causal`: `CausalConv1D` (WaveNet), `causal_shift`, `down_shift`
  (Gated PixelCNN) and `gated_activation`.
- `ar_jax.nn.shifted`: PixelCNN++'s down / down-right shifted convolutions
  (`ShiftedConv2D`, `ShiftedDeconv2D` on `pad_shifted` input), `NiN`,
  `right_shift`, `concat_elu`.

Where the next layers go, each created with its first model (no empty modules
before then):
- recurrent cells (PixelRNN row/diagonal LSTMs, char-RNNs):
  `ar_jax/nn/recurrent.py`, cells as `nn.Module`s stepped by `lax.scan`, with
  the carry as the explicit state the sampler threads;
- causal attention with an explicit key/value cache (Transformer, PixelSNAIL):
  `ar_jax/nn/attention.py`; the cache is a pytree passed in and returned,
  never a mutable Flax collection, as the `ARModel` cache protocol asks;
- gated residual blocks (WaveNet, Gated PixelCNN, PixelCNN++):
  `ar_jax/nn/blocks.py`, built from `MaskedConv2D` / `CausalConv1D` +
  `gated_activation`.
"""

from ar_jax.nn.causal import CausalConv1D, causal_shift, down_shift, gated_activation
from ar_jax.nn.masked import MaskedConv2D, MaskedDense, add_bias, masked_kernel
from ar_jax.nn.shifted import (NiN, ShiftedConv2D, ShiftedDeconv2D, concat_elu, pad_shifted,
                               right_shift)

__all__ = ["CausalConv1D", "MaskedConv2D", "MaskedDense", "NiN", "ShiftedConv2D",
           "ShiftedDeconv2D", "add_bias", "causal_shift", "concat_elu", "down_shift",
           "gated_activation", "masked_kernel", "pad_shifted", "right_shift"]

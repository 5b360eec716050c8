"""Gated residual layers: the core WaveNet, Gated PixelCNN and PixelCNN++ share.

Each of those models computes a gate pre-activation z = [a, b] (its own
convolutions plus conditioning), then
  g = gate(z)                       (tanh(a) * sigmoid(b), or a * sigmoid(b))
  skip = skip_proj(g)               (WaveNet, Gated PixelCNN)
  out = x + res_proj(g)             (or x + g when there is no projection)
`gated_residual` is that core. It only calls the layers it is given, so the
models keep their own submodules (and param names).
"""

import jax
import jax.numpy as jnp


def _halves(z, name):
  if z.shape[-1] % 2:
    raise ValueError(f"{name}: last axis of x must be even, got shape {tuple(z.shape)}")
  return jnp.split(z, 2, axis=-1)


def gated_activation(x):
  """tanh(a) * sigmoid(b) where [a, b] splits the last axis of x in half."""
  a, b = _halves(x, "gated_activation")
  return jnp.tanh(a) * jax.nn.sigmoid(b)


def sigmoid_gate(x):
  """a * sigmoid(b) where [a, b] splits the last axis of x in half (PixelCNN++)."""
  a, b = _halves(x, "sigmoid_gate")
  return a * jax.nn.sigmoid(b)


def gated_residual(x, z, *, gate=gated_activation, residual=None, skip=None):
  """One gated residual layer on gate pre-activation `z` [..., 2G].

  Args:
    x: the residual stream [..., R], or None when the layer starts the stream
      (its output is then the projection alone).
    z: the gate pre-activation [..., 2G].
    gate: `gated_activation` or `sigmoid_gate`.
    residual: callable G -> R applied to the gate output, or None: the output
      is then x + gate(z) (R == G), or None when `x` is None (a last layer
      that feeds only its skip).
    skip: callable G -> S applied to the gate output, or None.
  Returns:
    (out, skip output): out is [..., R] or None; the skip output is None
    without `skip`.
  """
  g = gate(z)
  s = None if skip is None else skip(g)
  if residual is None:
    return (None if x is None else x + g), s
  r = residual(g)
  return (r if x is None else x + r), s

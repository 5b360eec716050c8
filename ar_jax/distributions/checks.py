"""Argument checks and small helpers shared by every distribution.

Shapes are checked, nothing is silently broadcast; `temperature` must be a
scalar > 0 (checked unless it is traced); values cannot be checked under `jit`,
so invalid discrete values get a NaN log-prob (`nan_unless`).
"""

import numbers

import jax
import jax.numpy as jnp


def check_shapes(params, x, num_params, name):
  p_shape, x_shape = tuple(jnp.shape(params)), tuple(jnp.shape(x))
  if p_shape[-1:] != (num_params,) or p_shape[:-1] != x_shape:
    raise ValueError(
        f"{name}: expected params of shape x.shape + ({num_params},) = "
        f"{x_shape + (num_params,)}, got params {p_shape} for x {x_shape}")


def check_params(params, num_params, name):
  shape = tuple(jnp.shape(params))
  if shape[-1:] != (num_params,):
    raise ValueError(
        f"{name}: expected params of shape [..., num_params] = [..., {num_params}], "
        f"got params {shape}")


def check_temperature(temperature):
  if jnp.ndim(temperature) != 0:
    raise ValueError(
        f"temperature must be a scalar > 0, got shape {tuple(jnp.shape(temperature))}")
  if isinstance(temperature, jax.core.Tracer):
    return  # Traced inside jit: its value is unknown here.
  if not float(temperature) > 0:  # `not >` also rejects NaN.
    raise ValueError(f"temperature must be > 0, got {temperature}")


def temper(logits, temperature):
  check_temperature(temperature)
  return logits / temperature


def as_int(value, name, owner, minimum):
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
    raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
  return int(value)


def nan_unless(valid, logp):
  return jnp.where(valid, logp, jnp.nan)


def split3(params, k):
  """[..., 3K] -> logit_weights, means, log_scales, each [..., K]."""
  return params[..., :k], params[..., k:2 * k], params[..., 2 * k:]

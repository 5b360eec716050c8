"""Tests for ar_jax.nn: masked/causal layers respect their masks exactly
(checked with Jacobians), weight norm is NaN-free, masks are never params."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ar_jax import masks as M
from ar_jax import nn as arnn


def _init(layer, x, seed=0):
  # Jitted: one compile is much cheaper than op-by-op dispatch of the initializers.
  return jax.jit(layer.init)(jax.random.key(seed), x)


def _jac(f, x):
  return jax.jit(jax.jacrev(f))(x)


def _grad(f, params):
  return jax.jit(jax.grad(f))(params)


def _nonzero(a):
  return np.asarray(a) != 0


# ------------------------------------------------------------- MaskedDense


@pytest.mark.parametrize("weight_norm", [False, True])
def test_masked_dense_jacobian_follows_mask(weight_norm):
  mask = np.random.default_rng(0).random((5, 7)) < 0.5
  layer = arnn.MaskedDense(7, mask, weight_norm=weight_norm)
  x = jax.random.normal(jax.random.key(1), (5,))
  v = _init(layer, x[None])
  jac_OxI = _jac(lambda x: layer.apply(v, x[None])[0], x)
  np.testing.assert_array_equal(_nonzero(jac_OxI), mask.T)  # zero exactly where masked


def test_masked_dense_leading_axes_and_jit():
  mm = M.made_masks(np.arange(4), (6,), seed=0)
  layer = arnn.MaskedDense(6, mm.hidden[0])
  x = jnp.ones((2, 3, 4))
  v = _init(layer, x)
  y = jax.jit(layer.apply)(v, x)
  assert y.shape == (2, 3, 6)
  np.testing.assert_allclose(y[1, 2], x[0, 0] @ (v["params"]["kernel"] * mm.hidden[0]),
                             rtol=1e-6)


def test_masked_weights_get_zero_gradient():
  mask = np.random.default_rng(1).random((4, 3)) < 0.5
  layer = arnn.MaskedDense(3, mask)
  x = jax.random.normal(jax.random.key(0), (8, 4))
  v = _init(layer, x)
  g = _grad(lambda p: jnp.sum(layer.apply({"params": p}, x) ** 2), v["params"])
  np.testing.assert_array_equal(_nonzero(g["kernel"]) & ~mask, np.zeros_like(mask))
  assert _nonzero(g["kernel"])[mask].all()


def test_weight_norm_unit_columns_and_no_nan_for_fully_masked_column():
  mask = np.ones((4, 3), bool)
  mask[:, 1] = False  # output unit 1 sees nothing
  layer = arnn.MaskedDense(3, mask, weight_norm=True,
                           bias_init=jax.nn.initializers.constant(0.5))
  v = _init(layer, jnp.ones((1, 4)))
  eff_IxO = layer.apply(v, jnp.eye(4)) - 0.5  # rows of the effective kernel
  np.testing.assert_allclose(np.linalg.norm(eff_IxO, axis=0), [1.0, 0.0, 1.0], rtol=1e-5)
  x = jax.random.normal(jax.random.key(3), (5, 4))
  y = layer.apply(v, x)
  assert np.isfinite(y).all()
  np.testing.assert_array_equal(y[:, 1], 0.5)
  g = _grad(lambda p: jnp.sum(layer.apply({"params": p}, x) ** 2), v["params"])
  assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(g))


def test_mask_shape_error_names_shapes():
  layer = arnn.MaskedDense(7, np.ones((4, 7)))
  with pytest.raises(ValueError, match=r"MaskedDense: mask must have shape "
                     r"\(in_features, features\) = \(5, 7\), got \(4, 7\)"):
    _init(layer, jnp.ones((1, 5)))
  with pytest.raises(ValueError, match="no mask given"):
    _init(arnn.MaskedDense(7), jnp.ones((1, 5)))


def test_call_time_mask_picked_by_traced_index():
  # Three orderings' output masks [3, 4, 4], one picked per call by a traced index.
  outputs = np.stack([M.made_masks(M.get_ordering("random", 4, seed=m), ()).output
                      for m in range(3)])
  layer = arnn.MaskedDense(4)
  x = jax.random.normal(jax.random.key(0), (4,))
  v = jax.jit(lambda k, x: layer.init(k, x, mask=outputs[0]))(jax.random.key(1), x[None])

  def f(x, i):
    return layer.apply(v, x[None], mask=jnp.asarray(outputs)[i])[0]

  jac_fn = jax.jit(jax.jacrev(f))  # one compile: i is traced
  for i in range(3):
    jac_OxI = jac_fn(x, i)
    np.testing.assert_array_equal(_nonzero(jac_OxI), outputs[i].T)


def test_masks_never_appear_in_variables():
  mm = M.made_masks(np.arange(5), (8,), seed=0, direct=True)

  class Net(nn.Module):

    @nn.compact
    def __call__(self, x):
      h = jax.nn.relu(arnn.MaskedDense(8, mm.hidden[0], weight_norm=True)(x))
      return arnn.MaskedDense(5, mm.output)(h) + arnn.MaskedDense(5, mm.direct,
                                                                   use_bias=False)(x)

  v = _init(Net(), jnp.ones((1, 5)))
  assert set(v) == {"params"}
  paths = {"/".join(str(k.key) for k in path)
           for path, _ in jax.tree_util.tree_leaves_with_path(v)}
  assert paths == {"params/MaskedDense_0/kernel", "params/MaskedDense_0/bias",
                   "params/MaskedDense_0/scale", "params/MaskedDense_1/kernel",
                   "params/MaskedDense_1/bias", "params/MaskedDense_2/kernel"}
  assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(v))


# ------------------------------------------------------------- MaskedConv2D


def _conv_jacobian(layer, v, x):
  """|d out / d in| as [H*W*Cin, H*W*Cout], in the unroll_conv_mask layout."""
  h, w, cin = x.shape
  jac = _jac(lambda x: layer.apply(v, x[None])[0], x)  # [H, W, Cout, H, W, Cin]
  cout = jac.shape[2]
  return _nonzero(jnp.transpose(jac, (3, 4, 5, 0, 1, 2)).reshape(h * w * cin, h * w * cout))


@pytest.mark.parametrize("mask_type, weight_norm", [("A", False), ("B", True)])
def test_masked_conv_jacobian_equals_unrolled_mask(mask_type, weight_norm):
  mask = M.conv_mask(3, 5, 3, 6, mask_type, channel_groups=3)
  layer = arnn.MaskedConv2D(6, (3, 5), mask, weight_norm=weight_norm)
  x = jax.random.normal(jax.random.key(0), (5, 6, 3))
  v = _init(layer, x[None])
  seen = _conv_jacobian(layer, v, x)
  np.testing.assert_array_equal(seen, M.unroll_conv_mask(mask, 5, 6))
  # Spelled out at pixel (2, 3): output group g vs the same pixel's input channels.
  p = 2 * 6 + 3
  centre_OxI = seen[p * 3:(p + 1) * 3, p * 6:(p + 1) * 6].T
  out_group = np.arange(6) // 2
  for g in range(3):
    own = centre_OxI[out_group == g, g]
    assert own.all() if mask_type == "B" else not own.any()  # type A: blind to itself
    assert centre_OxI[out_group == g, :g].all()  # earlier groups: seen
    assert not centre_OxI[out_group == g, g + 1:].any()  # later groups: never


def test_masked_conv_errors():
  with pytest.raises(ValueError, match=r"kernel_size must be an odd int.*got 4"):
    _init(arnn.MaskedConv2D(2, 4, None), jnp.ones((1, 5, 5, 1)))
  with pytest.raises(ValueError, match=r"mask must have shape \(kh, kw, in_channels, "
                     r"features\) = \(3, 3, 2, 2\), got \(3, 3, 1, 2\)"):
    _init(arnn.MaskedConv2D(2, 3, M.conv_mask(3, 3, 1, 2)), jnp.ones((1, 5, 5, 2)))
  with pytest.raises(ValueError, match=r"x must be 4-D \[B, H, W, C\], got shape \(5, 5, 2\)"):
    _init(arnn.MaskedConv2D(2, 3, M.conv_mask(3, 3, 2, 2)), jnp.ones((5, 5, 2)))


def test_masked_conv_weight_norm_fully_masked_channel_is_finite():
  mask = M.conv_mask(3, 3, 2, 3, "B")
  mask[..., 1] = 0.0
  layer = arnn.MaskedConv2D(3, 3, mask, weight_norm=True)
  x = jax.random.normal(jax.random.key(0), (2, 4, 4, 2))
  v = _init(layer, x)
  g = _grad(lambda p: jnp.sum(layer.apply({"params": p}, x) ** 2), v["params"])
  assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(g))
  assert (layer.apply(v, x)[..., 1] == 0).all()


# ------------------------------------------------------------- CausalConv1D


@pytest.mark.parametrize("dilation, exclusive", [(1, False), (2, False), (4, False),
                                                 (2, True)])
def test_causal_conv1d_receptive_field_by_gradients(dilation, exclusive):
  t_len, k = 16, 3
  layer = arnn.CausalConv1D(4, k, dilation=dilation, exclusive=exclusive)
  x = jax.random.normal(jax.random.key(0), (t_len, 2))
  v = _init(layer, x[None])
  assert layer.apply(v, x[None]).shape == (1, t_len, 4)
  jac = _jac(lambda x: layer.apply(v, x[None])[0], x)  # [T, F, T, C]
  seen_TxT = _nonzero(jnp.abs(jac).sum(axis=(1, 3)))
  shift = int(exclusive)
  want = np.zeros((t_len, t_len), bool)
  for t in range(t_len):
    for j in range(k):
      s = t - shift - j * dilation
      if s >= 0:
        want[t, s] = True
  np.testing.assert_array_equal(seen_TxT, want)


def test_causal_conv1d_stack_checks_autoregressive():
  t_len = 10

  class Stack(nn.Module):

    @nn.compact
    def __call__(self, x):
      x = arnn.CausalConv1D(4, 2, exclusive=True)(x)
      for d in (1, 2, 4):
        x = jnp.tanh(arnn.CausalConv1D(4, 2, dilation=d, weight_norm=True)(x))
      return arnn.CausalConv1D(1, 1)(x)

  x = jax.random.normal(jax.random.key(0), (t_len, 1))
  v = _init(Stack(), x[None], seed=1)
  jac = _jac(lambda x: Stack().apply(v, x[None])[0, :, 0], x)[..., 0]  # [T, T]
  conn_IxO = _nonzero(jac).T
  M.check_autoregressive([conn_IxO], in_dims=np.arange(t_len), out_dims=np.arange(t_len),
                         ordering=np.arange(t_len))
  assert conn_IxO[0, 1:].all()  # receptive field 1 + 1 + 1 + 2 + 4 = 9 covers T - 1


def test_causal_conv1d_rejects_bad_input():
  with pytest.raises(ValueError, match=r"CausalConv1D: x must be 3-D \[B, T, C\]"):
    _init(arnn.CausalConv1D(2, 2), jnp.ones((5, 2)))
  with pytest.raises(ValueError, match="dilation must be a positive int, got 0"):
    _init(arnn.CausalConv1D(2, 2, dilation=0), jnp.ones((1, 5, 2)))


# ------------------------------------------------------------- helpers


def test_gated_activation():
  x = jax.random.normal(jax.random.key(0), (3, 8))
  np.testing.assert_allclose(arnn.gated_activation(x),
                             np.tanh(x[:, :4]) * jax.nn.sigmoid(x[:, 4:]), rtol=1e-6)
  with pytest.raises(ValueError, match=r"last axis of x must be even, got shape \(3, 5\)"):
    arnn.gated_activation(jnp.ones((3, 5)))
  np.testing.assert_allclose(arnn.sigmoid_gate(x), x[:, :4] * jax.nn.sigmoid(x[:, 4:]),
                             rtol=1e-6)


def test_gated_residual_core():
  x = jax.random.normal(jax.random.key(0), (3, 4))
  z = jax.random.normal(jax.random.key(1), (3, 8))
  g = np.asarray(arnn.gated_activation(z))
  res, skip = (lambda a: 2.0 * a[:, :2].repeat(2, 1)), (lambda a: a.sum(-1, keepdims=True))
  out, s = arnn.gated_residual(x, z, residual=res, skip=skip)
  np.testing.assert_allclose(out, x + res(g), rtol=1e-6)
  np.testing.assert_allclose(s, skip(g), rtol=1e-6)
  out, s = arnn.gated_residual(None, z, residual=res)  # starts the stream
  np.testing.assert_allclose(out, res(g), rtol=1e-6)
  assert s is None
  out, s = arnn.gated_residual(None, z, skip=skip)  # a last layer: skip only
  assert out is None
  np.testing.assert_allclose(s, skip(g), rtol=1e-6)
  out, _ = arnn.gated_residual(x, z, gate=arnn.sigmoid_gate)  # identity residual
  np.testing.assert_allclose(out, x + arnn.sigmoid_gate(z), rtol=1e-6)


def test_down_shift_and_causal_shift():
  x = jnp.arange(2 * 3 * 2 * 1, dtype=jnp.float32).reshape(2, 3, 2, 1)
  y = arnn.down_shift(x)
  np.testing.assert_array_equal(y[:, 0], 0.0)
  np.testing.assert_array_equal(y[:, 1:], x[:, :-1])
  np.testing.assert_array_equal(arnn.causal_shift(jnp.array([[1.0, 2.0, 3.0]]), axis=1),
                                [[0.0, 1.0, 2.0]])

"""NADE: Neural Autoregressive Distribution Estimator (Larochelle & Murray, 2011).

Every conditional is a one-hidden-layer net whose input weights are tied
(L&M 2011):
  h_i = sigmoid(c + W[:, <i] x_<i),   p(x_i | x_<i) from V_i h_i + b_i.
Tying lets all D hidden vectors share one running pre-activation
a_1 = c, a_{i+1} = a_i + W[:, i] x_i (the paper's O(DH) recursion), so the
likelihood costs O(B D H) instead of O(B D^2 H).

Two implementations of that recursion (equal up to float rounding; `impl`):
- "scan" (default): a `lax.scan` over the ordering with a hand-written
  backward pass that re-runs the recursion in reverse, recovering a_i by
  subtraction. Memory O(B H); never stores the [B, D, H] hidden states, so
  it moves far less memory than "cumsum" (the faster choice on CPU).
- "cumsum": fully vectorized; an exclusive `jnp.cumsum` over the ordering of the
  [B, D, H] input contributions, differentiated by JAX. Simple and parallel
  (a reasonable choice on accelerators), but streams several [B, D, H] arrays
  through memory, which dominates on CPU.

`nade_outputs` is shared with RNADE, which adds a per-step scale rho.
"""

import functools
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax.models import base
from ar_jax.models import checks

ACTIVATIONS = ("sigmoid", "relu")
_IMPLS = ("scan", "cumsum")


def _act(name, z):
  if name == "sigmoid":
    # sigmoid(z) = (1 + tanh(z / 2)) / 2 exactly; XLA's CPU tanh is a rational
    # approximation without exp or an exact divide (within 2e-7 of
    # jax.nn.sigmoid), cheaper than the exp and divide of jax.nn.sigmoid.
    return 0.5 * jnp.tanh(0.5 * z) + 0.5
  return jax.nn.relu(z)


def _act_grad_from_output(name, h):
  """d act / d z expressed through h = act(z), so backward needs no extra exp."""
  return h * (1.0 - h) if name == "sigmoid" else (h > 0).astype(h.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _scan_outputs(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_DxBxF):
  return _scan_fwd(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_DxBxF)[0]


def _scan_fwd(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_DxBxF):
  a_BxH = jnp.broadcast_to(c_H[None], (x_DxBxF.shape[1], c_H.shape[0]))

  def body(a_BxH, inp):
    w_FxH, rho_t, v_HxP, b_P, x_BxF = inp
    h_BxH = _act(act, a_BxH if rho_t is None else rho_t * a_BxH)
    return a_BxH + x_BxF @ w_FxH, h_BxH @ v_HxP + b_P[None]

  a_end, out_DxBxP = jax.lax.scan(body, a_BxH, (W_DxFxH, rho_D, V_DxHxP, b_DxP, x_DxBxF))
  return out_DxBxP, (W_DxFxH, rho_D, V_DxHxP, x_DxBxF, a_end)


def _scan_bwd(act, res, g_DxBxP):
  W_DxFxH, rho_D, V_DxHxP, x_DxBxF, a_end = res

  def body(carry, inp):
    # R = dL/da_{t+1} + ... + dL/da_D: x_t feeds every later pre-activation.
    a_BxH, R_BxH = carry
    w_FxH, rho_t, v_HxP, x_BxF, g_BxP = inp
    # Undo step t to get a_t back from a_{t+1}; rounding drift is ~1e-6
    # relative over D = 784 steps, far below what training notices.
    a_BxH = a_BxH - x_BxF @ w_FxH
    h_BxH = _act(act, a_BxH if rho_t is None else rho_t * a_BxH)
    dz_BxH = (g_BxP @ v_HxP.T) * _act_grad_from_output(act, h_BxH)
    grads = (x_BxF.T @ R_BxH,                                  # dW_t
             None if rho_t is None else jnp.sum(dz_BxH * a_BxH),  # drho_t
             g_BxP.T @ h_BxH,                                  # dV_t^T (no transpose copy)
             g_BxP.sum(0),                                     # db_t
             R_BxH @ w_FxH.T)  # dx_t; XLA drops it when x needs no gradient
    da_BxH = dz_BxH if rho_t is None else dz_BxH * rho_t
    return (a_BxH, R_BxH + da_BxH), grads

  (_, R_BxH), (gW, grho, gV_DxPxH, gb, gx) = jax.lax.scan(
      body, (a_end, jnp.zeros_like(a_end)), (W_DxFxH, rho_D, V_DxHxP, x_DxBxF, g_DxBxP),
      reverse=True)
  return gW, R_BxH.sum(0), grho, gV_DxPxH.transpose(0, 2, 1), gb, gx


_scan_outputs.defvjp(_scan_fwd, _scan_bwd)

# Per-step working set of the scan is a few [rows, H] arrays; the batch is
# split into chunks of rows of at most this many floats each, so that a
# chunk's working set stays in a CPU's L2 cache.
_CHUNK_FLOATS = 32768


def _chunked_scan_outputs(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_DxBxF):
  D, B, F = x_DxBxF.shape
  n_chunks = max(1, -(-B * c_H.shape[0] // _CHUNK_FLOATS))
  if n_chunks == 1 or B < 2 * n_chunks:  # nothing to gain from 1-row chunks
    return _scan_outputs(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_DxBxF)
  rows = -(-B // n_chunks)
  x_pad = jnp.pad(x_DxBxF, ((0, 0), (0, n_chunks * rows - B), (0, 0)))
  x_NxDxRxF = x_pad.reshape(D, n_chunks, rows, F).transpose(1, 0, 2, 3)
  out_NxDxRxP = jax.lax.map(
      lambda x_c: _scan_outputs(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_c), x_NxDxRxF)
  out = out_NxDxRxP.transpose(1, 0, 2, 3).reshape(D, n_chunks * rows, -1)
  return out[:, :B]


def _cumsum_outputs(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_DxBxF):
  contrib_DxBxH = jnp.einsum("dbf,dfh->dbh", x_DxBxF, W_DxFxH)
  # Exclusive prefix sum: a_t sees x_s for s < t only (shift by one step).
  prefix = jnp.cumsum(contrib_DxBxH[:-1], axis=0)
  a_DxBxH = jnp.concatenate([jnp.zeros_like(contrib_DxBxH[:1]), prefix], 0) + c_H[None, None]
  z = a_DxBxH if rho_D is None else rho_D[:, None, None] * a_DxBxH
  return jnp.einsum("dbh,dhp->dbp", _act(act, z), V_DxHxP) + b_DxP[:, None, :]


def take(a, order, axis=0):
  """a[order] along `axis`; a no-op (no gather) for the identity order."""
  order = np.asarray(order)
  if np.array_equal(order, np.arange(a.shape[axis])):
    return a
  return jnp.take(a, order, axis=axis)


def nade_outputs(W_DxFxH, c_H, V_DxHxP, b_DxP, x_DxBxF, *, rho_D=None,
                 act="sigmoid", impl="scan"):
  """Outputs [D, B, P] of the tied-weight net, all arrays in generation order.

  out_t = act(rho_t * a_t) @ V_t + b_t, a_t = c + sum_{s<t} x_s @ W_s.
  """
  if act not in ACTIVATIONS:
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {act!r}")
  if impl == "scan":
    return _chunked_scan_outputs(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_DxBxF)
  if impl == "cumsum":
    return _cumsum_outputs(act, W_DxFxH, c_H, rho_D, V_DxHxP, b_DxP, x_DxBxF)
  raise ValueError(f"impl must be 'scan' or 'cumsum', got {impl!r}")


class TiedNADEBase(base.ARModel):
  """What NADE and RNADE share: ordering, the tied-weight pass, the cache.

  Subclasses define the fields `input_shape`, `hidden_size`, `ordering`,
  `ordering_shape`, `seed`, `impl`; `setup()` with params W [H, D*F], c [H],
  V [D, H, P], b [D, P] (and rho [D] with `_rho()`); `__call__` passing
  features [B, D, F] to `_outputs`; and `_step_features(x_B) -> [B, F]` for
  the cached sampler.
  """

  def __post_init__(self):
    checks.check_input_shape(self)
    checks.check_int(self, "hidden_size")
    checks.check_choice(self, "impl", _IMPLS)
    checks.normalize_ordering(self)
    super().__post_init__()

  def orderings(self):
    return masks.ordering_pool(
        self.ordering, checks.ordering_layout(self), 1, self.seed)

  def _rho(self):
    return None

  def _activation(self):
    return "sigmoid"

  def _W_DxFxH(self):
    return self.W.reshape(self.hidden_size, self.num_dims, -1).transpose(1, 2, 0)

  def _outputs(self, feats_BxDxF):
    """Params [B, *input_shape, P] from input features in data order."""
    n = feats_BxDxF.shape[0]
    order = self.orderings()[0]
    rho = self._rho()
    out_DxBxP = nade_outputs(
        take(self._W_DxFxH(), order), self.c, take(self.V, order), take(self.b, order),
        take(feats_BxDxF, order, axis=1).transpose(1, 0, 2),
        rho_D=None if rho is None else take(rho, order), act=self._activation(),
        impl=self.impl)
    # Back from generation order to data order.
    out_BxDxP = take(out_DxBxP.transpose(1, 0, 2), np.argsort(order), axis=1)
    return out_BxDxP.reshape((n,) + self.input_shape + (out_BxDxP.shape[-1],))

  # ---- cache protocol: the running pre-activation a [B, H] is the whole state ----
  supports_cache: ClassVar[bool] = True

  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # one ordering
    self.check_unconditional(cond)
    return {"a": jnp.broadcast_to(self.c[None], (batch_size, self.hidden_size))}

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of dim `step.dim`, after absorbing `step.x_prev` into a.

    One O(H (F + P)) update per step, so sampling costs O(D H) per example
    instead of the naive sampler's O(D^2 H). It repeats the scan's ops in the
    same order, so it matches `__call__` bit for bit (tested).
    """
    self.check_unconditional(cond)
    w_FxH = self._W_DxFxH()[step.prev_dim]
    a_BxH = cache["a"] + jnp.where(step.t > 0, self._step_features(step.x_prev) @ w_FxH, 0.0)
    d = step.dim
    rho = self._rho()
    h_BxH = _act(self._activation(), a_BxH if rho is None else rho[d] * a_BxH)
    return h_BxH @ self.V[d] + self.b[d][None], {"a": a_BxH}


class NADE(TiedNADEBase):
  """Discrete NADE with K classes per dimension (K = 2: classic binary NADE).

  Attributes:
    input_shape: data shape; flattened row-major to D dims.
    num_classes: K. Each dim feeds the hidden layer its one-hot minus the
      redundant class-0 column (K - 1 features; x itself when K = 2).
    hidden_size: H.
    ordering: a registered name (`masks.ordering_names()`: "natural",
      "reversed", "random" (drawn from `seed`), "hilbert", ...) or a
      permutation of range(D), as in `masks.get_ordering`.
    ordering_shape: the shape `ordering` lays the D dims out on; () means
      input_shape. Image orderings on flat data need it, e.g. (28, 28).
    seed: seed of a "random" ordering.
    impl: "scan" (fast on CPU, O(BH) memory) or "cumsum" (vectorized).
  """
  input_shape: tuple
  num_classes: int = 2
  hidden_size: int = 500
  ordering: Any = "natural"
  ordering_shape: tuple = ()
  seed: int = 0
  impl: str = "scan"


  def __post_init__(self):
    checks.check_int(self, "num_classes", low=2)
    super().__post_init__()

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  def setup(self):
    D, F, H = self.num_dims, self.num_classes - 1, self.hidden_size
    P = self.distribution.num_params
    # Our choice of init: fan-in scaled normals (a_i sums up to D*F inputs,
    # V_i reads H units) and zero biases, so h starts near 0.5 and p near 1/2.
    self.W = self.param("W", nn.initializers.variance_scaling(
        1.0, "fan_in", "normal", in_axis=-1, out_axis=-2), (H, D * F))
    self.c = self.param("c", nn.initializers.zeros, (H,))
    self.V = self.param("V", nn.initializers.variance_scaling(
        1.0, "fan_in", "normal", in_axis=-2, out_axis=-1, batch_axis=(0,)), (D, H, P))
    self.b = self.param("b", nn.initializers.zeros, (D, P))

  def _step_features(self, x_B):
    # Drop the redundant class-0 column: K = 2 leaves x itself.
    return nn.one_hot(x_B, self.num_classes, dtype=jnp.float32)[..., 1:]

  def __call__(self, x, cond=None):
    self.check_unconditional(cond)
    feats = self.one_hot(x)[..., 1:]  # float one-hot passes through: jacrev works
    return self._outputs(feats.reshape(x.shape[0], self.num_dims, -1))

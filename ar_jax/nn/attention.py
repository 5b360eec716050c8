"""Causal multi-head attention with an explicit key/value cache.

`CausalSelfAttention` has two entry points that compute the same values:
- `__call__(x_BxTxW, mask_TxT)`: every position at once (training, likelihood);
- `step(x_BxW, cache, t, mask_T)`: position t only, reading the keys/values of
  positions < t from `cache` (a pytree passed in and returned, never a mutable
  Flax collection: the `ARModel` cache protocol) and writing its own at t.
Both go through `attend`, with the same masking and softmax over the whole
length-T key axis (the unwritten cache slots are masked like the future
positions of the full pass), so the cached sampler reproduces the full pass.

`CausalAttention` (PixelSNAIL) takes queries and keys/values from different
inputs, with their own key and value sizes, under a strictly causal mask: a
row with no allowed key (the first position) reads exactly zero, never an
average over the masked keys. Its `step` writes the keys/values of one
position and reads one query, with the same `attend`.

The mask is data from `ar_jax.masks.causal_attention_mask` (True = may
attend); the caller passes it, so it is built once per trace, not per layer.
"""

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from ar_jax.nn import dropout as dropout_lib


_MASKED = -1e30  # Finite: -1e30 + a logit stays finite; exp(-1e30 - max) == 0.


def softmax(logits):
  """Softmax over the last axis, written out so both paths run the same ops."""
  e = jnp.exp(logits - jax.lax.stop_gradient(logits.max(axis=-1, keepdims=True)))
  return e / e.sum(axis=-1, keepdims=True)


def attend(q_BxHxQxd, k_BxHxTxd, v_BxHxTxd, mask_QxT, *, rate=0.0, key=None,
           zero_empty_rows=False):
  """softmax(q k^T) v over the keys `mask` allows; q must be pre-scaled.

  Args:
    q_BxHxQxd: queries, already multiplied by 1/sqrt(d).
    k_BxHxTxd, v_BxHxTxd: keys and values (values may have their own size).
    mask_QxT: bool, True where query q may attend to key t. Without
      `zero_empty_rows` every row must allow at least one key (a causal row
      always allows its own position): an empty row would average all keys.
    rate, key: dropout on the attention weights (only when `key` is given).
    zero_empty_rows: a row that allows no key (a strictly causal mask's first
      row) gets all-zero weights, so it reads exactly zero and no key or
      value reaches it, not even through the gradient.
  Returns:
    [B, H, Q, d_v].
  """
  logits = jnp.einsum("bhqd,bhkd->bhqk", q_BxHxQxd, k_BxHxTxd)
  # An additive bias (0 or -1e30, exp underflows to exactly 0) rather than a
  # `where` on the logits: its backward is the identity, where a select costs
  # another pass over [B, H, Q, T].
  logits = logits + jnp.where(mask_QxT, 0.0, _MASKED)[None, None]
  weights = softmax(logits)
  if zero_empty_rows:
    weights = weights * jnp.any(mask_QxT, axis=-1, keepdims=True).astype(weights.dtype)[None, None]
  weights = dropout_lib.dropout(weights, rate, key)
  return jnp.einsum("bhqk,bhkd->bhqd", weights, v_BxHxTxd)


def kv_cache(batch_size, num_heads, length, head_dim, dtype=jnp.float32, value_dim=None):
  """Zero key/value buffers {"k": [B, heads, T, head_dim], "v": [..., value_dim or head_dim]}."""
  shape = (batch_size, num_heads, length, head_dim)
  v_shape = shape[:-1] + (value_dim or head_dim,)
  return {"k": jnp.zeros(shape, dtype), "v": jnp.zeros(v_shape, dtype)}


def write_kv(cache, k_BxHx1xd, v_BxHx1xd, t):
  """The cache with one position's keys and values written at index t."""
  return {"k": jax.lax.dynamic_update_slice_in_dim(cache["k"], k_BxHx1xd, t, axis=2),
          "v": jax.lax.dynamic_update_slice_in_dim(cache["v"], v_BxHx1xd, t, axis=2)}


class CausalSelfAttention(nn.Module):
  """Multi-head self-attention with one fused QKV projection.

  Attributes:
    width: W, the feature size of the input and output.
    num_heads: H; must divide W (head size d = W / H).
    use_bias: biases on the QKV and output projections.
    dropout_rate: on the attention weights and the output (when a key is given).
    kernel_init, proj_init: initializers of the QKV and output kernels.
  """
  width: int
  num_heads: int
  use_bias: bool = False
  dropout_rate: float = 0.0
  kernel_init: Callable = nn.initializers.normal(0.02)
  proj_init: Callable = nn.initializers.normal(0.02)
  dtype: Any = jnp.float32

  def setup(self):
    if self.width % self.num_heads:
      raise ValueError(f"CausalSelfAttention: width={self.width} is not a multiple of "
                       f"num_heads={self.num_heads}; pick num_heads dividing the width")
    # One [W, 3W] matmul for q, k and v instead of three [W, W] ones.
    self.qkv = nn.Dense(3 * self.width, use_bias=self.use_bias, kernel_init=self.kernel_init,
                        dtype=self.dtype)
    self.proj = nn.Dense(self.width, use_bias=self.use_bias, kernel_init=self.proj_init,
                         dtype=self.dtype)

  def _qkv(self, x_NxW):
    """[..., W] -> three [..., H, d] arrays; q scaled by 1/sqrt(d)."""
    d = self.width // self.num_heads
    qkv = self.qkv(x_NxW)
    qkv = qkv.reshape(x_NxW.shape[:-1] + (3, self.num_heads, d))
    q, k, v = (qkv[..., i, :, :] for i in range(3))
    return q * (1.0 / d ** 0.5), k, v

  def __call__(self, x_BxTxW, mask_TxT, key=None):
    """All positions: [B, T, W] -> [B, T, W]; `key` enables dropout."""
    b, t, w = x_BxTxW.shape
    q, k, v = (a.transpose(0, 2, 1, 3) for a in self._qkv(x_BxTxW))  # [B, H, T, d]
    k_att, k_out = (None, None) if key is None else jax.random.split(key)
    y = attend(q, k, v, mask_TxT, rate=self.dropout_rate, key=k_att)
    y = self.proj(y.transpose(0, 2, 1, 3).reshape(b, t, w))
    return dropout_lib.dropout(y, self.dropout_rate, k_out)

  def step(self, x_BxW, cache, t, mask_T):
    """Position `t` only: [B, W] -> ([B, W], cache with k, v written at t).

    Attends over the whole length-T buffer with `mask_T` (the row t of the
    causal mask), so it costs O(T) per token and masks exactly like the full
    pass. No dropout: sampling is deterministic given the key.
    """
    b, w = x_BxW.shape
    q, k, v = (a[:, :, None] for a in self._qkv(x_BxW))  # [B, H, 1, d]
    cache = write_kv(cache, k, v, t)
    y = attend(q, cache["k"], cache["v"], mask_T[None])
    return self.proj(y.reshape(b, w)), cache


class CausalAttention(nn.Module):
  """Multi-head attention with queries and keys/values from different inputs.

  Queries are read from `q_in`, keys and values from `kv_in` (PixelSNAIL:
  queries from the stream and position channels, keys and values also from
  the raw input). There is no output projection: the caller mixes the read
  in. A row of the mask with no allowed key reads zero (`zero_empty_rows`).

  Attributes:
    num_heads: H; must divide key_size and value_size.
    key_size: total query/key size (key_size / H per head).
    value_size: total value size, the size of the read.
  """
  num_heads: int
  key_size: int
  value_size: int
  kernel_init: Callable = nn.initializers.lecun_normal()
  dtype: Any = jnp.float32

  def setup(self):
    for name in ("key_size", "value_size"):
      if getattr(self, name) % self.num_heads:
        raise ValueError(f"CausalAttention: {name}={getattr(self, name)} is not a multiple of "
                         f"num_heads={self.num_heads}; pick num_heads dividing it")
    dense = lambda n: nn.Dense(n, kernel_init=self.kernel_init, dtype=self.dtype)
    self.query, self.key, self.value = dense(self.key_size), dense(self.key_size), dense(
        self.value_size)

  def _heads(self, a):  # [..., n] -> [..., H, n / H]
    return a.reshape(a.shape[:-1] + (self.num_heads, a.shape[-1] // self.num_heads))

  def queries(self, q_in):
    """[..., Fq] -> [..., H, dk], scaled by 1/sqrt(dk)."""
    return self._heads(self.query(q_in)) * (1.0 / (self.key_size // self.num_heads) ** 0.5)

  def keys_values(self, kv_in):
    """[..., Fkv] -> keys [..., H, dk] and values [..., H, dv]."""
    return self._heads(self.key(kv_in)), self._heads(self.value(kv_in))

  def __call__(self, q_BxTxF, kv_BxTxG, mask_TxT):
    """All positions: [B, T, Fq], [B, T, Fkv] -> reads [B, T, value_size]."""
    b, t = q_BxTxF.shape[:2]
    q = self.queries(q_BxTxF).transpose(0, 2, 1, 3)
    k, v = (a.transpose(0, 2, 1, 3) for a in self.keys_values(kv_BxTxG))
    y = attend(q, k, v, mask_TxT, zero_empty_rows=True)
    return y.transpose(0, 2, 1, 3).reshape(b, t, self.value_size)

  def init_cache(self, batch_size, length):
    """Zero buffers for `length` positions (unbound: shapes only)."""
    h = self.num_heads
    return kv_cache(batch_size, h, length, self.key_size // h, value_dim=self.value_size // h)

  def write(self, cache, kv_BxG, t):
    """The cache with the keys/values of `kv_in` [B, Fkv] written at position t."""
    k, v = self.keys_values(kv_BxG)
    return write_kv(cache, k[:, :, None], v[:, :, None], t)

  def read(self, q_BxF, cache, mask_T):
    """One query [B, Fq] over the buffer, masked by `mask_T` [T] -> [B, value_size]."""
    q = self.queries(q_BxF)[:, :, None]
    y = attend(q, cache["k"], cache["v"], mask_T[None], zero_empty_rows=True)
    return y.reshape(q_BxF.shape[0], self.value_size)

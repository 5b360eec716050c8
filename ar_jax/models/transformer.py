"""Decoder-only Transformer (GPT-style) over sequences or flattened images.

The input `[B, *input_shape]` is flattened row-major to D positions (a text
window, or an image in raster (h, w, c) order as in ImageGPT) and shifted
right by one: position 0 reads a learned start vector, position t the token
x_{t-1}. Pre-LayerNorm blocks of causal self-attention (mask from
`ar_jax.masks.causal_attention_mask`) and a GELU MLP, a final LayerNorm and
a softmax head (tied to the token embedding if `tie_weights`) then give
p(x_t | x_<t) at every position in one pass.

Fast generation: a key/value cache (`init_cache` / `cached_step`) holds every
layer's keys and values [B, heads, D, head_dim]; a step computes position t
only and attends over the buffer with row t of the same causal mask: O(D) per
token instead of re-running the prefix, same values as `__call__` (tested).

Dropout (on the embeddings, the attention weights and each residual branch,
as in GPT-2 / nanoGPT) is applied only in `train_log_prob`, with its key.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax.models import base
from ar_jax.models import checks
from ar_jax.nn import attention
from ar_jax.nn import dropout as dropout_lib

_POSITIONS = ("learned", "sinusoidal")
_INIT = nn.initializers.normal(0.02)  # GPT-2 / nanoGPT's init for weights and embeddings.


def sinusoidal_positions(length, width):
  """float32 [length, width]: sin on even features, cos on odd (Vaswani et al., 2017)."""
  pos = np.arange(length, dtype=np.float64)[:, None]
  freq = 10000.0 ** (-np.arange(0, width, 2, dtype=np.float64) / width)
  table = np.zeros((length, width))
  table[:, 0::2] = np.sin(pos * freq)
  table[:, 1::2] = np.cos(pos * freq)
  return table.astype(np.float32)


def _split(key, n):
  return [None] * n if key is None else list(jax.random.split(key, n))


class Block(nn.Module):
  """Pre-LayerNorm block: x + attn(LN(x)), then x + MLP(LN(x))."""
  width: int
  num_heads: int
  mlp_ratio: int
  use_bias: bool
  dropout_rate: float
  proj_init: nn.initializers.Initializer

  def setup(self):
    ln = lambda: nn.LayerNorm(epsilon=1e-5, use_bias=self.use_bias)
    self.ln_attn, self.ln_mlp = ln(), ln()
    self.attn = attention.CausalSelfAttention(
        self.width, self.num_heads, use_bias=self.use_bias, dropout_rate=self.dropout_rate,
        kernel_init=_INIT, proj_init=self.proj_init)
    self.fc = nn.Dense(self.mlp_ratio * self.width, use_bias=self.use_bias, kernel_init=_INIT)
    self.fc_out = nn.Dense(self.width, use_bias=self.use_bias, kernel_init=self.proj_init)

  def mlp(self, h, key=None):
    # GPT-2's tanh GELU (nanoGPT uses the exact erf one): the same curve
    # within 1e-3, with a cheaper backward pass.
    y = self.fc_out(jax.nn.gelu(self.fc(self.ln_mlp(h)), approximate=True))
    return dropout_lib.dropout(y, self.dropout_rate, key)

  def __call__(self, h_BxTxW, mask_TxT, key=None):
    k_attn, k_mlp = _split(key, 2)
    h_BxTxW = h_BxTxW + self.attn(self.ln_attn(h_BxTxW), mask_TxT, k_attn)
    return h_BxTxW + self.mlp(h_BxTxW, k_mlp)

  def step(self, h_BxW, cache, t, mask_T):
    y, cache = self.attn.step(self.ln_attn(h_BxW), cache, t, mask_T)
    h_BxW = h_BxW + y
    return h_BxW + self.mlp(h_BxW), cache


class Transformer(base.ARModel):
  """Decoder-only Transformer over `input_shape` flattened to D positions.

  Attributes:
    input_shape: (T,) for sequences, (H, W, C) for images (raster order).
    num_classes: K values per position (65 characters, 2 binary pixels, ...).
    num_layers, num_heads, width: L blocks, H heads, model width W (H | W).
    mlp_ratio: MLP hidden size / W.
    positions: "learned" (a [D, W] table) or "sinusoidal" (fixed; W even).
    tie_weights: the softmax head is the token embedding transposed (for
      K = 2, the Bernoulli logit is the difference of the two tied logits).
    dropout: rate on embeddings, attention weights and residual branches
      (training only).
    use_bias: biases in every Dense and LayerNorm (nanoGPT's `bias`).
  """
  input_shape: tuple
  num_classes: int = 2
  num_layers: int = 6
  num_heads: int = 6
  width: int = 384
  mlp_ratio: int = 4
  positions: str = "learned"
  tie_weights: bool = True
  dropout: float = 0.0
  use_bias: bool = False

  supports_cache: ClassVar[bool] = True

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  def __post_init__(self):
    checks.check_input_shape(self)
    checks.check_int(self, "num_classes", low=2)
    for key in ("num_layers", "num_heads", "width", "mlp_ratio"):
      checks.check_int(self, key)
    checks.check_choice(self, "positions", _POSITIONS)
    if self.positions == "sinusoidal" and self.width % 2:
      checks.fail(self, "width", "even with positions='sinusoidal'",
                  "use an even width or positions='learned'")
    if self.width % self.num_heads:
      checks.fail(self, "num_heads", f"a divisor of width={self.width}",
                  "pick num_heads dividing the width")
    checks.check_rate(self, "dropout")
    super().__post_init__()

  def setup(self):
    d, w = self.num_dims, self.width
    self.embed = self.param("embed", _INIT, (self.num_classes, w))
    self.start = self.param("start", _INIT, (w,))
    if self.positions == "learned":
      self.pos = self.param("pos", _INIT, (d, w))
    else:
      self.pos = jnp.asarray(sinusoidal_positions(d, w))
    # GPT-2: residual projections scaled down by sqrt(2 L) at init.
    proj_init = nn.initializers.normal(0.02 / (2 * self.num_layers) ** 0.5)
    self.blocks = [Block(w, self.num_heads, self.mlp_ratio, self.use_bias, self.dropout,
                         proj_init) for _ in range(self.num_layers)]
    self.ln_final = nn.LayerNorm(epsilon=1e-5, use_bias=self.use_bias)
    if not self.tie_weights:
      self.head = nn.Dense(self.distribution.num_params, use_bias=self.use_bias,
                           kernel_init=_INIT)

  def _mask(self):
    return jnp.asarray(masks.causal_attention_mask(self.num_dims))

  def _logits(self, h_NxW):
    """Output params [..., P] from final hidden states [..., W]."""
    h_NxW = self.ln_final(h_NxW)
    if not self.tie_weights:
      return self.head(h_NxW)
    logits = h_NxW @ self.embed.T  # [..., K]
    if self.distribution.num_params == 1:  # Bernoulli: log p(1) - log p(0)
      return logits[..., 1:] - logits[..., :1]
    return logits

  def _forward(self, x, key=None):
    """Params [B, *input_shape, P]; dropout when `key` is given."""
    b, d = x.shape[0], self.num_dims
    feats_BxDxK = self.one_hot(x).reshape(b, d, self.num_classes)
    tok_BxDxW = feats_BxDxK @ self.embed
    # Shift right by one: position t reads x_{t-1}, position 0 the start vector.
    start = jnp.broadcast_to(self.start[None, None], (b, 1, self.width))
    h = jnp.concatenate([start, tok_BxDxW[:, :-1]], axis=1) + self.pos[None]
    keys = _split(key, self.num_layers + 1)
    h = dropout_lib.dropout(h, self.dropout, keys[0])
    mask = self._mask()
    for block, k in zip(self.blocks, keys[1:]):
      h = block(h, mask, k)
    return self._logits(h).reshape((b,) + tuple(self.input_shape) + (-1,))

  def __call__(self, x, cond=None):
    self.check_unconditional(cond)
    return self._forward(x)

  def train_log_prob(self, x, key, cond=None):
    self.check_unconditional(cond)
    if self.dropout == 0.0:
      return self.log_prob(x)
    return self.sum_log_prob(self._forward(x, key), x)

  # ---- cache protocol: every layer's keys and values so far ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # one (natural) ordering
    self.check_unconditional(cond)
    return tuple(attention.kv_cache(batch_size, self.num_heads, self.num_dims,
                                    self.width // self.num_heads)
                 for _ in range(self.num_layers))

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] of position `step.t`, given x_{t-1} = `step.x_prev`."""
    self.check_unconditional(cond)
    b, t = step.x_prev.shape[0], step.t
    # One-hot rows times the table: exactly the rows `__call__` gathers.
    tok_BxW = nn.one_hot(step.x_prev, self.num_classes, dtype=jnp.float32) @ self.embed
    start_BxW = jnp.broadcast_to(self.start[None], (b, self.width))
    h = jnp.where(t > 0, tok_BxW, start_BxW) + self.pos[t][None]
    mask_T = self._mask()[t]
    new_cache = []
    for block, layer_cache in zip(self.blocks, cache):
      h, layer_cache = block.step(h, layer_cache, t, mask_T)
      new_cache.append(layer_cache)
    return self._logits(h), tuple(new_cache)

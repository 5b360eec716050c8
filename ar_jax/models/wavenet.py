"""WaveNet (van den Oord et al., 2016, arXiv:1609.03499) with Fast WaveNet generation.

Audio is a sequence `[B, T]` of classes (256 mu-law classes, `ar_jax.audio`).
- Input: a causal convolution of `input_kernel_size` taps on the one-hot input
  shifted by one step (`CausalConv1D(exclusive=True)`), so position t sees
  x_{t-1}, ..., x_{t-k0}. (With `output="logistic"` the input is the class
  rescaled to [-1, 1], one channel, so 16-bit output is affordable.)
- L = num_stacks * layers_per_stack residual layers, dilation
  2^(l mod layers_per_stack) (1, 2, ..., 512 repeated for 10 per stack):
  z = W_l * h (dilated causal conv, `kernel_size` taps) + V_l g + U_l c_t,
  a = tanh(z_1) * sigmoid(z_2) (`gated_activation`), skip_l = 1x1(a),
  h <- h + 1x1(a) (Sec. 2.3-2.5 of the paper).
- Output: relu(sum_l skip_l) -> 1x1 -> relu -> 1x1 -> a softmax over
  `num_classes` (default) or a discretized logistic mixture (`output="logistic"`).
- Receptive field (`receptive_field`): params at t depend on exactly
  x_{t-R}, ..., x_{t-1}, R = input_kernel_size + (kernel_size - 1) * sum(dilations).

Conditioning (both optional, and combinable):
- global (`cond_classes` C: an int id [B]; or `cond_size` F: a float vector
  [B, F]): a per-layer linear map of the one-hot id / vector, added inside
  every gate (V_l g).
- local (`local_channels` C_l): a float feature sequence [B, T / hop, C_l] at a
  lower rate (`local_hop` samples per frame, e.g. log-mels every 80 samples),
  upsampled to the sample rate by repetition ("repeat") or a learned
  transposed convolution with kernel = stride = hop ("transposed"); then a
  per-layer 1x1 map added inside every gate (U_l c_t). Sample t's upsampled
  feature comes from frame floor(t / hop) only, in both modes, so the output
  at t sees exactly frames `local_frames_seen(t)` = floor((t - C) / hop) ..
  floor(t / hop), C = (kernel_size - 1) * sum(dilations[1:]): the features are
  given, not generated, so frame floor(t / hop) may describe audio up to the
  end of its block (and its analysis window); the audio itself is never seen
  at or after t.
With both, `cond` is a dict {"global": ..., "local": ...}; with one, that array.

Fast generation (Paine et al., 2016, arXiv:1611.09482): `init_cache` holds,
per layer, a queue (ring buffer) of its last (kernel_size - 1) * d inputs, and
the last `input_kernel_size` inputs; `cached_step` computes one sample in
O(L) (each layer reads its taps at t - d, ... from its queue and writes h_t),
instead of re-running the receptive field.
"""

from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import distributions
from ar_jax import nn as ar_nn
from ar_jax.models import base
from ar_jax.models import checks

_OUTPUTS = ("categorical", "logistic")
_UPSAMPLES = ("repeat", "transposed")


class WaveNet(base.ARModel):
  """WaveNet over sequences of classes; see the module docstring.

  Attributes:
    input_shape: (T,).
    num_classes: K values per sample (256 mu-law classes).
    num_stacks, layers_per_stack: dilations 1, 2, ..., 2^(layers_per_stack-1),
      repeated num_stacks times.
    kernel_size: taps of the dilated convolutions (2 in the paper).
    input_kernel_size: taps of the first (causal, exclusive) convolution.
    residual_channels, gate_channels, skip_channels: widths R, G, S.
    output: "categorical" (softmax over K) or "logistic" (discretized
      logistic mixture of `num_mixtures` components over K classes).
    cond_classes / cond_size: global conditioning (at most one is > 0).
    local_channels, local_hop, local_upsample: local conditioning.
  """
  input_shape: tuple
  num_classes: int = 256
  num_stacks: int = 3
  layers_per_stack: int = 10
  kernel_size: int = 2
  input_kernel_size: int = 2
  residual_channels: int = 64
  gate_channels: int = 64
  skip_channels: int = 256
  output: str = "categorical"
  num_mixtures: int = 10
  cond_classes: int = 0
  cond_size: int = 0
  local_channels: int = 0
  local_hop: int = 1
  local_upsample: str = "repeat"

  supports_cache: ClassVar[bool] = True

  def __post_init__(self):
    checks.check_input_shape(self, "(T,)", rank=1)
    checks.check_int(self, "num_classes", low=2)
    for key in ("num_stacks", "layers_per_stack", "kernel_size", "input_kernel_size",
                "residual_channels", "gate_channels", "skip_channels", "num_mixtures",
                "local_hop"):
      checks.check_int(self, key)
    checks.check_cond_counts(self, "cond_classes", "cond_size", "local_channels")
    checks.check_choice(self, "output", _OUTPUTS)
    checks.check_choice(self, "local_upsample", _UPSAMPLES)
    checks.check_at_most_one(self, cond_classes="int ids", cond_size="float vectors")
    super().__post_init__()

  # ---- static structure ----
  @property
  def distribution(self):
    if self.output == "logistic":
      return distributions.DiscretizedLogisticMixture(self.num_mixtures, self.num_classes)
    return distributions.for_classes(self.num_classes)

  @property
  def dilations(self):
    return tuple(2 ** (i % self.layers_per_stack)
                 for i in range(self.num_stacks * self.layers_per_stack))

  @property
  def receptive_field(self):
    """R: params at t depend on x_{t-R}, ..., x_{t-1} (and nothing else of x)."""
    return self.input_kernel_size + (self.kernel_size - 1) * sum(self.dilations)

  @property
  def local_context(self):
    """Samples before t whose local features still reach the output at t."""
    return (self.kernel_size - 1) * sum(self.dilations[1:])

  def local_frames_seen(self, t):
    """(first, last) local frames the params at sample t depend on (inclusive)."""
    return max(0, t - self.local_context) // self.local_hop, t // self.local_hop

  @property
  def has_global(self):
    return bool(self.cond_classes or self.cond_size)

  @property
  def has_local(self):
    return bool(self.local_channels)

  # ---- layers ----
  def setup(self):
    r, g2 = self.residual_channels, 2 * self.gate_channels
    num_layers = len(self.dilations)
    self.input_conv = ar_nn.CausalConv1D(r, self.input_kernel_size, exclusive=True)
    self.dilated = [ar_nn.CausalConv1D(g2, self.kernel_size, dilation=d)
                    for d in self.dilations]
    self.skip = [nn.Dense(self.skip_channels) for _ in range(num_layers)]
    # The last layer's residual output would feed nothing (a param that never
    # gets a gradient): only the first L - 1 layers have one.
    self.residual = [nn.Dense(r) for _ in range(num_layers - 1)]
    self.out_hidden = nn.Dense(self.skip_channels)
    self.out_params = nn.Dense(self.distribution.num_params)
    # The conditioning maps start at zero: a conditional WaveNet starts as the
    # unconditional one and learns what the cond adds (random maps of
    # unit-variance features would first add noise to every gate).
    zeros = nn.initializers.zeros
    if self.has_global:
      self.global_proj = [nn.Dense(g2, use_bias=False, kernel_init=zeros)
                          for _ in range(num_layers)]
    if self.has_local:
      if self.local_upsample == "transposed":
        self.upsample = nn.Dense(self.local_hop * self.local_channels)
      self.local_proj = [nn.Dense(g2, use_bias=False, kernel_init=zeros)
                         for _ in range(num_layers)]

  def _encode(self, x):
    """int [B, T] or one-hot [B, T, K] -> input features [B, T, Cin] (no checks)."""
    if self.output == "logistic":  # the class rescaled to [-1, 1], one channel
      scale = 2.0 / (self.num_classes - 1)
      if jnp.issubdtype(x.dtype, jnp.integer):
        ok = (x >= 0) & (x < self.num_classes)
        return jnp.where(ok, x * scale - 1.0, jnp.nan)[..., None].astype(jnp.float32)
      values = jnp.arange(self.num_classes, dtype=jnp.float32) * scale - 1.0
      return x.astype(jnp.float32) @ values[:, None]
    if jnp.issubdtype(x.dtype, jnp.integer):
      return base.guarded_one_hot(x, self.num_classes)
    return x.astype(jnp.float32)

  def _upsample(self, local_BxFxC, length):
    """[B, F, C] frames -> [B, length, C'] at the sample rate (frame floor(t / hop))."""
    b, f, c = local_BxFxC.shape
    if self.local_upsample == "repeat":
      up = jnp.repeat(local_BxFxC, self.local_hop, axis=1)
    else:  # transposed conv, kernel = stride = hop: one matrix per offset in the block
      up = self.upsample(local_BxFxC).reshape(b, f * self.local_hop, c)
    return up[:, :length]

  def _layer(self, l, h, z, global_bias, local_up):
    """Residual layer l on its dilated-conv output z [..., 2G]: (new h, skip_l).

    Adds the conditioning to z, then the gated residual core; the new h is
    None after the last layer (it has no residual projection).
    """
    if global_bias is not None:
      z = z + global_bias[l].reshape(global_bias[l].shape[:1] + (1,) * (z.ndim - 2)
                                     + global_bias[l].shape[-1:])
    if local_up is not None:
      z = z + self.local_proj[l](local_up)
    last = l == len(self.residual)
    return ar_nn.gated_residual(None if last else h, z, skip=self.skip[l],
                                residual=None if last else self.residual[l])

  def _head(self, skips):
    return self.out_params(jax.nn.relu(self.out_hidden(jax.nn.relu(skips))))

  def _global_bias(self, g):
    return None if g is None else [proj(g) for proj in self.global_proj]

  def __call__(self, x, cond=None):
    """Params [B, T, P] of p(x_t | x_<t, cond) for every t."""
    self.check_input(x)
    g, local = self._cond_inputs(cond, x.shape[0])
    h = self.input_conv(self._encode(x))
    local_up = None if local is None else self._upsample(local, x.shape[1])
    global_bias = self._global_bias(g)
    skips = 0.0
    for l, conv in enumerate(self.dilated):
      h, skip = self._layer(l, h, conv(h), global_bias, local_up)
      skips = skips + skip
    return self._head(skips)

  # ---- conditioning input ----
  def _cond_desc(self):
    parts = []
    if self.cond_classes:
      parts.append(f"global: int ids [B] in [0, {self.cond_classes})")
    elif self.cond_size:
      parts.append(f"global: float vectors [B, {self.cond_size}]")
    if self.has_local:
      parts.append(f"local: float frames [B, ceil(T / {self.local_hop}), "
                   f"{self.local_channels}]")
    both = " as a dict {'global': ..., 'local': ...}" if len(parts) == 2 else ""
    return "; ".join(parts) + both

  def check_cond(self, cond, batch_size):
    """Raises a ValueError naming the problem unless `cond` suits this model."""
    self._split_cond(cond, batch_size)

  def _split_cond(self, cond, batch_size):
    """(global, local) parts of a checked `cond` (None where not configured)."""
    name = "WaveNet"
    if not (self.has_global or self.has_local):
      if cond is not None:
        raise ValueError(
            f"{name} is unconditional but got a cond: drop it, or build the model with "
            "cond_classes / cond_size (global) or local_channels (local conditioning)")
      return None, None
    if cond is None:
      raise ValueError(f"{name} is conditional: pass cond= ({self._cond_desc()})")
    if self.has_global and self.has_local:
      if not isinstance(cond, dict) or set(cond) != {"global", "local"}:
        raise ValueError(f"{name}: cond must be a dict with keys 'global' and 'local' "
                         f"({self._cond_desc()}), got {type(cond).__name__}")
      g, local = cond["global"], cond["local"]
    else:
      g, local = (cond, None) if self.has_global else (None, cond)
    if g is not None:
      g = self._check_global(g, batch_size)
    if local is not None:
      local = self._check_local(local, batch_size)
    return g, local

  def _check_global(self, g, batch_size):
    g = g if hasattr(g, "dtype") else np.asarray(g)
    want = (batch_size,) if self.cond_classes else (batch_size, self.cond_size)
    kind = jnp.integer if self.cond_classes else jnp.floating
    if tuple(g.shape) != want or not jnp.issubdtype(g.dtype, kind):
      raise ValueError(f"WaveNet: global cond must be {self._cond_desc()} with B = "
                       f"{batch_size}, got {g.dtype} of shape {tuple(g.shape)}")
    c = base.concrete_values(g) if self.cond_classes else None
    if c is not None and ((c < 0) | (c >= self.cond_classes)).any():
      bad = int(c[(c < 0) | (c >= self.cond_classes)][0])
      raise ValueError(f"WaveNet: global cond id {bad} is outside [0, {self.cond_classes})")
    return g

  def _check_local(self, local, batch_size):
    local = local if hasattr(local, "dtype") else np.asarray(local)
    frames = -(-self.input_shape[0] // self.local_hop)
    want = (batch_size, frames, self.local_channels)
    if tuple(local.shape) != want or not jnp.issubdtype(local.dtype, jnp.floating):
      raise ValueError(
          f"WaveNet: local cond must be float frames [B, ceil(T / hop), C] = {want} "
          f"(T = {self.input_shape[0]}, hop = {self.local_hop}), got {local.dtype} of "
          f"shape {tuple(local.shape)}")
    return local

  def _cond_inputs(self, cond, batch_size):
    """Float global features [B, C or F] (one-hot ids) and local frames, or None."""
    g, local = self._split_cond(cond, batch_size)
    if g is not None:
      g = (base.guarded_one_hot(jnp.asarray(g), self.cond_classes) if self.cond_classes
           else jnp.asarray(g, jnp.float32))
    if local is not None:
      local = jnp.asarray(local, jnp.float32)
    return g, local

  # ---- Fast WaveNet: the cache protocol ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    """Zero queues (= the convolutions' causal zero padding) and the conditioning."""
    del order_index  # one ordering: the natural one
    g, local = self._cond_inputs(cond, batch_size)
    cin = 1 if self.output == "logistic" else self.num_classes
    r, k = self.residual_channels, self.kernel_size
    cache = {
        "inputs": jnp.zeros((batch_size, self.input_kernel_size, cin), jnp.float32),
        "queues": [jnp.zeros((batch_size, (k - 1) * d, r), jnp.float32)
                   for d in self.dilations],
    }
    if g is not None:
      cache["global"] = self._global_bias(g)
    if local is not None:
      cache["local"] = self._upsample(local, self.input_shape[0])
    return cache

  def cached_step(self, cache, step, cond=None):
    """Params [B, P] at position step.t from the queues; O(layers) work."""
    del cond  # already in the cache
    t = step.t
    x_prev = self._encode(step.x_prev[:, None])[:, 0]  # [B, Cin]
    x_prev = jnp.where(t > 0, x_prev, jnp.zeros_like(x_prev))
    inputs = jnp.concatenate([cache["inputs"][:, 1:], x_prev[:, None]], axis=1)
    # The exclusive input conv on [x_{t-k0}, ..., x_{t-1}, (x_t: unused)]: its
    # last output is position t's, computed by the very same layer.
    window = jnp.concatenate([inputs, jnp.zeros_like(inputs[:, :1])], axis=1)
    h = self.input_conv(window)[:, -1]  # [B, R]
    local_up = None
    if "local" in cache:
      local_up = jax.lax.dynamic_index_in_dim(cache["local"], t, axis=1, keepdims=False)
    skips, queues = 0.0, []
    for l, (conv, d) in enumerate(zip(self.dilated, self.dilations)):
      q = cache["queues"][l]  # [B, (k-1) d, R]: slot s holds h at the last t' = s mod size
      size = q.shape[1]
      # Tap i of the kernel pairs with h_{t - (k-1-i) d}; the last tap is h_t.
      taps = [jax.lax.dynamic_index_in_dim(q, (t - j * d) % size, axis=1, keepdims=False)
              for j in range(self.kernel_size - 1, 0, -1)] + [h]
      params = conv.variables["params"]
      z = jnp.einsum("bkr,kro->bo", jnp.stack(taps, axis=1), params["kernel"])
      z = z + params["bias"][None]
      queues.append(jax.lax.dynamic_update_index_in_dim(q, h, t % size, axis=1))
      h, skip = self._layer(l, h, z, cache.get("global"), local_up)
      skips = skips + skip
    cache = {**cache, "inputs": inputs, "queues": queues}
    return self._head(skips), cache

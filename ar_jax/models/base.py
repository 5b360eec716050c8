"""The model contract every ar_jax model follows.

A model is a Flax linen module, subclass of `ARModel`, with dataclass fields
`input_shape` (no default) and, for discrete data, `num_classes` (default 2).
It defines:

- `distribution` (property): an object from `ar_jax.distributions` giving the
  per-dimension conditional family (`num_params` = P parameters per dimension).
- `__call__(x, cond=None[, order_index])` -> params `[B, *input_shape, P]`:
  the parameters of p(x_d | x_<d) for every dimension d at once. Discrete `x` is
  either an integer array `[B, *input_shape]` of class indices in
  `[0, num_classes)` or a float relaxed one-hot `[B, *input_shape, K]` (the
  causality tests differentiate through the latter); use `self.one_hot(x)` to
  accept both. Real-valued `x` is float `[B, *input_shape]`.
- `orderings()` -> int array `[M, D]`: the generation order(s), as flat indices
  into the row-major flattened `input_shape`. Default: one natural order.
  Models with M > 1 orderings (MADE mask ensembles) also take a keyword
  `order_index` in `__call__` selecting one of them (may be a traced int).

Bad input (`check_input`, called by `one_hot` and `log_prob`): a wrong shape, a
float or bool array of the data's shape given to a discrete model, or an
integer array given to a real-valued one raises a ValueError, inside `jit` too
(shapes and dtypes are static). Class indices outside `[0, num_classes)` (say
0..255 pixels given to a binary model) raise a ValueError naming the value
when `x` is concrete (outside `jit`); inside `jit` values are unknown when the
model is traced, so they are not checked: `one_hot` encodes such a value as NaN
features and `log_prob` / `train_log_prob` of that example are NaN (the other
examples of the batch are unaffected; the trainer skips non-finite steps).

Optional, for fast generation: the cache protocol (`ar_jax.sample` takes the
cached path when the class sets `supports_cache = True`; the defaults below
raise, and `ar_jax.sampling.has_cache(model)` is the public query). The cache is
an explicit pytree owned by the caller (the sampler's `lax.scan` carry), never
a mutable Flax collection:
- `init_cache(batch_size, cond=None, order_index=0)` -> cache pytree for
  generating under ordering `orderings()[order_index]` (the sampler always
  passes `order_index`, an int32 array, traced when it runs an ensemble);
- `cached_step(cache, step, cond=None)` -> `(params_BxP, cache)`: the params of
  dimension `step.dim` given everything generated before it. `step` is a
  `CacheStep` (position `t`, `dim`, `prev_dim`, `x_prev`, `order_index`), so
  no model looks its ordering up again. `x_prev` [B] is the value just
  generated for `prev_dim`; at t == 0 there is none (`x_prev` is zeros and
  `prev_dim == dim`, a valid index): gate on `step.t > 0`.
  It must reproduce `__call__(x, order_index=...)` exactly: the conformance
  suite checks that the cached sampler equals the naive one for the same key.
A model with several orderings either supports every `order_index` in its
cache or has no cache. `cond` is passed to both methods only when given
(like `__call__`); a conditional model may keep what it needs of it in the cache.

`log_prob(x, cond=None)` -> `[B]` log-likelihood in nats, summed over dimensions,
is provided here and may be overridden (e.g. MADE's exact mask ensemble, where
`log_prob(x, order_index=None)` is the ensemble and an int selects one mask).
`dim_log_probs(x, cond=None)` -> `[B, *input_shape]` gives the per-dimension
terms of one ordering (the stream evaluator scores only unmasked positions);
a model whose conditionals do not come from `distribution.log_prob` of its
`__call__` output overrides it.

`train_log_prob(x, key, cond=None)` -> `[B]` is what the trainer maximizes; the
default is `log_prob`. Models with stochastic training (a random mask per step
in order-agnostic MADE, dropout) override it and draw from `key`.
"""

import math
from typing import Any, ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


class CacheStep(NamedTuple):
  """What the sampler tells `cached_step` at step t (a pytree; all traced).

  Attributes:
    t: int32 scalar, the position in the ordering, 0..D-1.
    dim: int32 scalar, the flat index (row-major in `input_shape`) of the
      dimension to produce: `orderings()[order_index, t]`.
    prev_dim: int32 scalar, the flat index of the dimension generated at step
      t - 1; equal to `dim` at t == 0 (so gathers need no clamp).
    x_prev: [B] the value generated (or given, when completing) for `prev_dim`;
      zeros at t == 0. int32 for discrete models, float32 otherwise.
    order_index: int32 scalar, the ordering being generated under.
  """
  t: Any
  dim: Any
  prev_dim: Any
  x_prev: Any
  order_index: Any


def concrete_values(a):
  """`a` as a host numpy array, or None when its values are unknown here.

  Inside `jit` an input is a tracer, and a multi-host global array is not all
  on this host: value checks (class indices, labels) are skipped for both.
  """
  if isinstance(a, jax.core.Tracer) or not getattr(a, "is_fully_addressable", True):
    return None
  return np.asarray(a)


def guarded_one_hot(indices, num_classes):
  """Float one-hot `[..., K]` of int indices; an index outside [0, K) gives NaNs.

  Inside `jit` indices cannot be checked, and `nn.one_hot` would silently
  encode an out-of-range index as all zeros (a "no class" input). NaNs make
  every output computed from it, and that example's log-prob, NaN instead.
  """
  valid = (indices >= 0) & (indices < num_classes)
  return jnp.where(valid[..., None], nn.one_hot(indices, num_classes, dtype=jnp.float32),
                   jnp.nan)


def check_array_cond(name, cond, batch_size, *, build_hint, cond_classes=0, cond_size=0,
                     cond_map_shape=()):
  """Raises a ValueError naming the problem unless `cond` suits a model.

  The `check_cond` of the models whose `cond` is one array per example: int
  labels [B] in [0, cond_classes), float vectors [B, cond_size] or float maps
  [B, *cond_map_shape] (at most one is set; none: unconditional, and a given
  `cond` is refused). Shapes and dtypes are checked always (inside `jit` too),
  label values only when `cond` is concrete (`concrete_values`).

  Args:
    name: the model and its conditioning hparams, as the messages name it.
    cond: what the caller passed: None, an array or an array-like.
    batch_size: B, the batch of x.
    build_hint: for an unconditional model given a cond, the hparams that
      make a conditional one (e.g. "cond_classes=C (int labels)").
    cond_classes, cond_size, cond_map_shape: the model's conditioning hparams.
  """
  if cond_classes:
    want, kind = (batch_size,), jnp.integer
    desc = f"int labels [B] in [0, {cond_classes})"
  elif cond_size:
    want, kind = (batch_size, cond_size), jnp.floating
    desc = f"float vectors [B, {cond_size}]"
  elif cond_map_shape:
    shape = tuple(int(d) for d in cond_map_shape)
    want, kind = (batch_size,) + shape, jnp.floating
    desc = f"float maps [B, {', '.join(map(str, shape))}]"
  else:
    if cond is not None:
      raise ValueError(
          f"{name} is unconditional but got cond of shape {tuple(jnp.shape(cond))}: drop "
          f"cond, or build the model with {build_hint}")
    return
  if cond is None:
    raise ValueError(f"{name} is conditional: pass cond=, {desc} (one per example)")
  if not hasattr(cond, "dtype"):
    cond = np.asarray(cond)  # lists, scalars
  shape, dtype = tuple(cond.shape), cond.dtype
  if shape != want or not jnp.issubdtype(dtype, kind):
    cast = ".astype(jnp.int32)" if kind is jnp.integer else ".astype(jnp.float32)"
    raise ValueError(f"{name}: cond must be {desc} with B = {batch_size} (the batch of x), "
                     f"got {dtype} of shape {shape} (cast with cond{cast} if only the "
                     "dtype is wrong)")
  c = concrete_values(cond) if cond_classes else None
  if c is not None:
    bad = (c < 0) | (c >= cond_classes)
    if bad.any():
      i = int(np.flatnonzero(bad)[0])
      raise ValueError(f"{name}: cond label {int(c[i])} of example {i} is outside "
                       f"[0, {cond_classes}) ({int(bad.sum())} such label(s)); "
                       f"labels are class indices 0..{cond_classes - 1}")

class ARModel(nn.Module):
  """Base class with the shared, model-independent parts of the contract."""

  # True when the class implements `init_cache` and `cached_step` (the cache
  # protocol, see the module docstring); read it through `sampling.has_cache`.
  supports_cache: ClassVar[bool] = False

  def __post_init__(self):
    # Subclasses check their hyperparameters (`ar_jax.models.checks`) first.
    # A tuple of ints keeps the module hashable (a static jit argument).
    object.__setattr__(self, "input_shape", tuple(int(d) for d in self.input_shape))
    super().__post_init__()

  # ---- static helpers (usable on an unbound module) ----
  @property
  def num_dims(self) -> int:
    return int(math.prod(self.input_shape))

  @property
  def is_discrete(self) -> bool:
    return self.distribution.is_discrete

  def orderings(self) -> np.ndarray:
    """Generation order(s) as flat indices, shape [M, D]. Default: natural."""
    return np.arange(self.num_dims)[None]

  @property
  def num_orderings(self) -> int:
    return int(self.orderings().shape[0])

  # ---- input handling ----
  def check_input(self, x, name="x"):
    """Raises a ValueError naming the problem unless `x` is valid input.

    Discrete models take integer class indices `[B, *input_shape]` or a float
    one-hot `[B, *input_shape, K]`; real-valued models take floats
    `[B, *input_shape]`. Shape and dtype are checked always (inside `jit` too);
    class values only when `x` is concrete (see the module docstring).
    """
    shape = tuple(self.input_shape)
    cls = type(self).__name__
    data_shaped = x.ndim >= 1 and tuple(x.shape[1:]) == shape
    got = f"got {x.dtype} of shape {tuple(x.shape)}"
    if not self.is_discrete:
      if not data_shaped:
        raise ValueError(f"{cls}: {name} must have shape [B, *input_shape] = [B, *{shape}], {got}")
      if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(
            f"{cls} is a real-valued model: {name} must be a float array [B, *{shape}], {got}. "
            f"Cast real values with {name}.astype(jnp.float32); class indices need a "
            f"discrete model (e.g. 'made' with num_classes=K)")
      return
    k = self.distribution.num_classes  # models need not name the field num_classes
    expected = (f"integer class indices [B, *{shape}] with values in [0, {k}) or a float "
                f"one-hot [B, *{shape}, {k}]")
    one_hot_shaped = x.ndim >= 1 and tuple(x.shape[1:]) == shape + (k,)
    if one_hot_shaped and jnp.issubdtype(x.dtype, jnp.floating):
      return
    if not data_shaped:
      raise ValueError(f"{cls}: {name} must be {expected}; {got}")
    if not jnp.issubdtype(x.dtype, jnp.integer):
      # A float array of the data's shape is not a one-hot (that has a trailing
      # K axis): without this check it fails deep inside dot_general.
      raise ValueError(
          f"{cls}: {name} must be {expected}; {got} (the data's shape, but not "
          f"integers). Cast class indices with {name}.astype(jnp.int32); real-valued "
          f"data need a real-valued model (e.g. 'rnade')")
    self._check_classes(x, name)

  def _check_classes(self, x, name):
    """Raises for class indices outside [0, K) when `x` is concrete (not traced)."""
    x_np = concrete_values(x)
    if x_np is None:
      return  # Values unknown here (inside jit) or not all on this host.
    bad = (x_np < 0) | (x_np >= self.distribution.num_classes)
    if not bad.any():
      return
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    k, lo, hi = self.distribution.num_classes, int(x_np.min()), int(x_np.max())
    fix = (f"map the values into [0, {k}) (e.g. binarize 8-bit pixels with "
           f"({name} > 127).astype(jnp.int32))")
    if lo >= 0:  # More classes can hold large values, never negative ones.
      fix += f" or build the model with num_classes >= {hi + 1}"
      fix += " (256 for 8-bit data)" if hi < 255 else ""
    raise ValueError(
        f"{type(self).__name__}: {name} has value {int(x_np[where])} at index {where}, "
        f"outside [0, num_classes) = [0, {k}) ({int(bad.sum())} such value(s); values "
        f"span {lo}..{hi}). Discrete models take class indices: {fix}")

  def check_cond(self, cond, batch_size):
    """Checks `cond` for `batch_size` examples before anything is traced.

    The default does nothing: a model without conditioning refuses a `cond`
    in `__call__` (`check_unconditional`). Conditional models override it to
    name a missing cond, a wrong shape or dtype, or (outside `jit`) a label
    out of range; `ar_jax.sample` calls it before compiling.
    """
    del cond, batch_size

  def check_unconditional(self, cond):
    """Raises for a `cond` given to a model without conditioning inputs."""
    if cond is not None:
      raise ValueError(f"{type(self).__name__} is unconditional; got a `cond` input")

  def one_hot(self, x):
    """int [B, *S] -> float one-hot [B, *S, K]; float [B, *S, K] passes through.

    An index outside [0, K) (possible only inside `jit`, where `check_input`
    cannot see values) becomes a row of NaNs rather than all zeros, so every
    output computed from it, and the example's log-prob, is NaN instead of
    silently reading the value as class 0.
    """
    self.check_input(x)
    if jnp.issubdtype(x.dtype, jnp.integer):
      return guarded_one_hot(x, self.num_classes)
    return x.astype(jnp.float32)

  # ---- likelihood ----
  def log_prob(self, x, cond=None):
    """Log-likelihood in nats of each example, shape [B]."""
    self.check_input(x)
    kwargs = {} if cond is None else {"cond": cond}
    return self.sum_log_prob(self(x, **kwargs), x)

  def sum_log_prob(self, params, x):
    """Per-example log-likelihood [B] from per-dimension params [B, *S, P]."""
    return self.distribution.log_prob(params, x).reshape(x.shape[0], -1).sum(-1)

  def train_log_prob(self, x, key, cond=None):
    """Training objective per example, [B]; `key` is fresh every step."""
    del key
    return self.log_prob(x, cond=cond)

  def dim_log_probs(self, x, cond=None):
    """log p(x_d | x_<d) of every dimension, `[B, *input_shape]` nats.

    What a scorer needs when only some dimensions count (e.g. the masked
    tail of a stream window in evaluation). Defined for one ordering: an
    ensemble's likelihood does not split into per-dimension terms.
    """
    if self.num_orderings > 1:
      raise ValueError(
          f"{type(self).__name__} has {self.num_orderings} orderings (an ensemble): "
          "its log-likelihood does not split into per-dimension terms; use log_prob")
    self.check_input(x)
    kwargs = {} if cond is None else {"cond": cond}
    return self.distribution.log_prob(self(x, **kwargs), x)

  # ---- cache protocol (fast generation); see the module docstring ----
  def init_cache(self, batch_size, cond=None, order_index=0):
    """Cache pytree for `batch_size` samples under ordering `order_index`."""
    del batch_size, cond, order_index
    raise NotImplementedError(self._no_cache_message("init_cache"))

  def cached_step(self, cache, step, cond=None):
    """`(params_BxP, cache)` for dimension `step.dim` (a `CacheStep`)."""
    del cache, step, cond
    raise NotImplementedError(self._no_cache_message("cached_step"))

  def _no_cache_message(self, method):
    return (f"{type(self).__name__} has no cached sampler ({method} is not implemented); "
            f"ar_jax.sample uses the naive path for it (one full forward pass per "
            f"dimension). To add one, set `supports_cache = True` on the class and "
            f"implement init_cache(batch_size, cond=None, order_index=0) and "
            f"cached_step(cache, step, cond=None) as ar_jax/models/base.py describes.")

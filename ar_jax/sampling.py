"""Ancestral sampling for any `ARModel`: one jitted program, `lax.scan` over dims.

`sample(model, variables, rng, num_samples)` draws x_{o(0)}, x_{o(1)}, ... in the
model's generation order o. The naive path re-runs the full model at every step
(O(D) forward passes); if the model implements the cache protocol of
`ar_jax.models.base` (`supports_cache`, `init_cache`, `cached_step`) the cached
path is used instead, also for ensembles of orderings. Both consume the same
per-step keys, so for the same `rng` they return the same samples (tested for
every cached model). The cache is the `lax.scan` carry, owned here.

Completion / inpainting: pass `x_init` and a boolean `known` mask; dimensions
where `known` is True are copied from `x_init` instead of sampled. Each sampled
dimension is conditioned on all dimensions *before it in the ordering* (known or
sampled); known values that come later in the ordering cannot influence it
(that is what an autoregressive model can express without extra inference).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from ar_jax.models import base


def has_cache(model):
  """True if the model's class implements the cache protocol (`supports_cache`).

  Raises:
    TypeError: if the declaration and the methods disagree (the flag is set but
      a method is inherited from `ARModel`, or both methods are overridden but
      the flag is not set).
  """
  cls = type(model)
  overridden = [getattr(cls, m) is not getattr(base.ARModel, m)
                for m in ("init_cache", "cached_step")]
  if cls.supports_cache and not all(overridden):
    raise TypeError(f"{cls.__name__} sets supports_cache = True but does not implement "
                    f"both init_cache and cached_step")
  if not cls.supports_cache and all(overridden):
    raise TypeError(f"{cls.__name__} implements init_cache and cached_step but does not "
                    f"declare it: set `supports_cache = True` on the class")
  return bool(cls.supports_cache)


def sample(model, variables, rng, num_samples, *, cond=None, temperature=1.0,
           x_init=None, known=None, use_cache=True):
  """Implementation of `ar_jax.sample`; the arguments are documented there."""
  if not isinstance(num_samples, int) or num_samples < 1:
    raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
  if isinstance(temperature, (int, float)) and temperature <= 0:
    raise ValueError(f"temperature must be > 0, got {temperature}")
  shape = (num_samples,) + tuple(model.input_shape)
  dtype = jnp.int32 if model.is_discrete else jnp.float32
  if (x_init is None) != (known is None):
    raise ValueError("x_init and known must be given together (or neither)")
  if x_init is None:
    x_init = jnp.zeros(shape, dtype)
    known = jnp.zeros(shape, bool)
  else:
    if model.is_discrete and not jnp.issubdtype(jnp.result_type(x_init), jnp.integer):
      raise ValueError(
          f"x_init must hold integer class indices for the discrete "
          f"{type(model).__name__}, got {jnp.result_type(x_init)}; cast it with "
          "x_init.astype(jnp.int32) (a float cast would silently truncate)")
    x_init = jnp.asarray(x_init, dtype)
    known = jnp.broadcast_to(jnp.asarray(known, bool), shape) if (
        jnp.shape(known) == tuple(model.input_shape)) else jnp.asarray(known, bool)
    if x_init.shape != shape or known.shape != shape:
      raise ValueError(
          f"x_init and known must have shape {shape} (known may also be "
          f"{tuple(model.input_shape)}), got {x_init.shape} and {known.shape}")
    # Outside jit the given values are concrete: the model's own check names
    # an out-of-range class now, instead of a NaN or a wrong sample later.
    model.check_input(jnp.where(known, x_init, jnp.zeros_like(x_init)), name="x_init")
  _check_cond(cond, num_samples)
  model.check_cond(cond, num_samples)  # values too, while they are concrete
  cached = bool(use_cache and has_cache(model))
  return _sample_jit(model, variables, rng, x_init, known, cond,
                     jnp.asarray(temperature, jnp.float32), cached)


def _check_cond(cond, num_samples):
  """Every leaf of `cond` (an array or a pytree of arrays) has leading axis N."""
  if cond is None:
    return
  for path, leaf in jax.tree_util.tree_leaves_with_path(cond):
    shape = tuple(jnp.shape(leaf))
    if shape[:1] != (num_samples,):
      where = jax.tree_util.keystr(path) if path else ""
      raise ValueError(
          f"cond{where} must have a leading axis of size num_samples = {num_samples} "
          f"(one conditioning input per sample), got shape {shape}; repeat or "
          f"broadcast it to [{num_samples}, ...]")


@functools.partial(jax.jit, static_argnums=(0, 7))
def _sample_jit(model, variables, rng, x_init, known, cond, temperature, cached):
  n = x_init.shape[0]
  x_init = x_init.reshape(n, -1)
  known = known.reshape(n, -1)
  orders = jnp.asarray(model.orderings(), jnp.int32)  # [M, D], a constant
  k_order, k_steps = jax.random.split(rng)
  step_keys = jax.random.split(k_steps, orders.shape[1])
  run = functools.partial(_cached_scan if cached else _naive_scan,
                          model, variables, x_init, known, cond, temperature, step_keys)
  if orders.shape[0] == 1:
    x = run(orders[0], None)
  else:
    # Ensemble over orderings: each sample picks one ordering uniformly, then
    # is generated under it. Run every ordering on the whole batch and select.
    pick = jax.random.randint(k_order, (n,), 0, orders.shape[0])
    all_x = jax.lax.map(lambda m: run(orders[m], m), jnp.arange(orders.shape[0]))
    x = jnp.take_along_axis(all_x, pick[None, :, None], axis=0)[0]
  return x.reshape((n,) + tuple(model.input_shape))


def _call_kwargs(cond, order_index):
  kwargs = {}
  if cond is not None:
    kwargs["cond"] = cond
  if order_index is not None:
    kwargs["order_index"] = order_index
  return kwargs


def _draw(model, key, params_NxP, d, x_init, known, temperature):
  s = model.distribution.sample(key, params_NxP, temperature).astype(x_init.dtype)
  return jnp.where(known[:, d], x_init[:, d], s)


def _naive_scan(model, variables, x_init, known, cond, temperature, step_keys,
                order, order_index):
  """Re-runs the whole model at every step: O(D) forward passes."""
  n = x_init.shape[0]
  kwargs = _call_kwargs(cond, order_index)

  def body(x_NxD, inp):
    d, key = inp
    params = model.apply(variables, x_NxD.reshape((n,) + tuple(model.input_shape)), **kwargs)
    params_NxP = params.reshape(n, x_NxD.shape[1], -1)[:, d]
    x_NxD = x_NxD.at[:, d].set(_draw(model, key, params_NxP, d, x_init, known, temperature))
    return x_NxD, None

  x, _ = jax.lax.scan(body, jnp.where(known, x_init, jnp.zeros_like(x_init)), (order, step_keys))
  return x


def _cached_scan(model, variables, x_init, known, cond, temperature, step_keys,
                 order, order_index):
  """Uses the model's incremental `cached_step`: one cheap step per dim."""
  n = x_init.shape[0]
  kwargs = {} if cond is None else {"cond": cond}
  order_index = jnp.asarray(0 if order_index is None else order_index, jnp.int32)
  cache = model.apply(variables, n, method="init_cache", order_index=order_index, **kwargs)

  def body(carry, inp):
    cache, x_NxD, x_prev = carry
    t, d, prev_d, key = inp
    step = base.CacheStep(t=t, dim=d, prev_dim=prev_d, x_prev=x_prev, order_index=order_index)
    params_NxP, cache = model.apply(variables, cache, step, method="cached_step", **kwargs)
    x_d = _draw(model, key, params_NxP, d, x_init, known, temperature)
    return (cache, x_NxD.at[:, d].set(x_d), x_d), None

  init = (cache, jnp.where(known, x_init, jnp.zeros_like(x_init)), jnp.zeros_like(x_init[:, 0]))
  ts = jnp.arange(order.shape[0], dtype=jnp.int32)
  # prev_dim at t = 0 is dim itself: a valid index the model gates with t > 0.
  prev = jnp.concatenate([order[:1], order[:-1]])
  (_, x, _), _ = jax.lax.scan(body, init, (ts, order, prev, step_keys))
  return x


def prompt_inputs(prompt, num_samples, input_shape):
  """`(x_init, known)` for `sample` that fix a sequence's first tokens to `prompt`.

  Args:
    prompt: 1-D int token ids (e.g. `ar_jax.data.text.encode("ROMEO:")`).
    num_samples: N, every sample gets the same prompt.
    input_shape: the model's `(T,)`; the prompt must fit in it.
  Returns:
    x_init int32 `[N, T]` (the prompt, then zeros) and known bool `[T]`.
  """
  prompt = np.asarray(prompt).reshape(-1)
  if len(tuple(input_shape)) != 1:
    raise ValueError(f"a prompt continues a sequence; the model's input_shape is "
                     f"{tuple(input_shape)}, not (T,)")
  t = int(input_shape[0])
  if len(prompt) > t:
    raise ValueError(f"the prompt has {len(prompt)} tokens, more than the {t} "
                     "the model generates; shorten it or generate a longer sequence")
  x_init = np.zeros((num_samples, t), np.int32)
  x_init[:, :len(prompt)] = prompt
  return jnp.asarray(x_init), jnp.arange(t) < len(prompt)

"""The training loop's state: the `TrainState` pytree, the `Progress` bookkeeping,
and `RunState`, both together as restored from a checkpoint.
"""

import dataclasses
import functools
import math
from typing import Any, Optional

import flax
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import sharding as sharding_lib


@flax.struct.dataclass
class TrainState:
  """Everything a checkpoint needs for an exact resume (the data follows from step)."""
  step: jax.Array  # int32 scalar: train steps (micro-batches) done.
  params: Any
  opt_state: Any
  ema_params: Any  # None when optim.ema_decay == 0.
  rng: jax.Array  # uint32 key data; the key of step s is fold_in(rng, s).

  def eval_params(self):
    """The params to evaluate and sample from: EMA if kept, else the raw ones."""
    return self.params if self.ema_params is None else self.ema_params


@dataclasses.dataclass
class Progress:
  """The loop's host-side bookkeeping, saved as JSON with every checkpoint."""
  step: int = 0
  best_nll: Optional[float] = None  # None until the first eval.
  best_step: Optional[int] = None
  bad_evals: int = 0  # Evals since the best one (early stopping).
  last_eval_step: Optional[int] = None
  stopped_early: bool = False
  train_time_s: float = 0.0

  @classmethod
  def from_meta(cls, meta):
    """From a checkpoint's JSON dict (unknown keys, e.g. from newer versions, dropped)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in (meta or {}).items() if k in names})

  def to_meta(self):
    return dataclasses.asdict(self)

  def record_eval(self, nll, step):
    """Records a validation NLL; True if it is the best so far (a NaN/Inf never is)."""
    self.last_eval_step = int(step)
    if math.isfinite(nll) and (self.best_nll is None or nll < self.best_nll):
      self.best_nll, self.best_step, self.bad_evals = float(nll), int(step), 0
      return True
    self.bad_evals += 1
    return False

  def out_of_patience(self, patience):
    """True once `patience` evals in a row brought no improvement (0 disables)."""
    return patience > 0 and self.bad_evals >= patience


@dataclasses.dataclass
class RunState:
  """Everything the loop carries from step to step and restores from a checkpoint."""
  train: TrainState
  progress: Progress
  resumed_from: Optional[int] = None  # The checkpoint step this launch started from.


def dummy_inputs(model, x_dtype, cond_shape=None, cond_dtype=None):
  """A one-example batch `(x, cond)` to init `model` with (cond None if unconditional).

  `x_dtype` is the data's model-side dtype: int32 for discrete data, float32
  for real-valued (a real-valued model rejects integer input).
  """
  x = np.zeros((1,) + tuple(model.input_shape), x_dtype)
  cond = None if cond_shape is None else np.zeros((1,) + tuple(cond_shape), cond_dtype)
  return x, cond


def _init(model, tx, ema, key_data, dummy_x, dummy_cond):
  # Key data (uint32 numpy) in, not a key array: numpy inputs are valid jit
  # arguments on every process of a multi-host run.
  init_key, rng_key = jax.random.split(jax.random.wrap_key_data(key_data))
  if dummy_cond is None:
    variables = model.init(init_key, dummy_x)
  else:
    variables = model.init(init_key, dummy_x, cond=dummy_cond)
  if set(variables) != {"params"}:
    raise ValueError(f"{type(model).__name__}: expected only a 'params' collection, "
                     f"got {sorted(variables)}")
  params = variables["params"]
  return TrainState(
      step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
      ema_params=jax.tree.map(jnp.copy, params) if ema else None,
      rng=jax.random.key_data(rng_key))


def abstract_state(model, tx, ema, dummy):
  """Shapes and dtypes of the state, no FLOPs (`jax.eval_shape`)."""
  return jax.eval_shape(functools.partial(_init, model, tx, ema),
                        _key_data(jax.random.key(0)), *dummy)


def state_sharding(abstract, mesh, param_sharding="replicated", fsdp_min_size=0):
  """The sharding of every state leaf (`configs.PARAM_SHARDINGS`).

  "replicated": every leaf on every device (pure data parallelism). "fsdp":
  params, optimizer state and EMA by `sharding.fsdp_sharding` (leaves of at
  least `fsdp_min_size` elements split over 'data'; an optimizer moment has
  its parameter's shape and so its sharding); the step and the RNG replicated.
  """
  rep = sharding_lib.replicated(mesh)
  if param_sharding == "replicated":
    return jax.tree.map(lambda _: rep, abstract)
  if param_sharding != "fsdp":
    raise ValueError(f"param_sharding={param_sharding!r}: expected 'replicated' or 'fsdp'")
  fsdp = lambda tree: sharding_lib.fsdp_sharding(tree, mesh, fsdp_min_size)
  return abstract.replace(step=rep, rng=rep, params=fsdp(abstract.params),
                          opt_state=fsdp(abstract.opt_state),
                          ema_params=fsdp(abstract.ema_params))


def init_state(model, tx, ema, key, mesh, dummy, shardings=None):
  """Initializes the state directly into `shardings` (default: replicated)."""
  if shardings is None:
    shardings = state_sharding(abstract_state(model, tx, ema, dummy), mesh)
  init = jax.jit(functools.partial(_init, model, tx, ema), out_shardings=shardings)
  return init(_key_data(key), *dummy)


def _key_data(key):
  return np.asarray(jax.random.key_data(key))


def abstract_with_sharding(abstract, mesh, shardings=None):
  """ShapeDtypeStructs carrying the target sharding (what a restore fills in).

  `shardings` is a tree like `abstract` (from `state_sharding`); default: replicated.
  """
  if shardings is None:
    shardings = state_sharding(abstract, mesh)
  return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                      abstract, shardings)

"""The train state pytree, model construction from config, and sharded init."""

import functools
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import models
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


def make_model(config, info):
  """`models.get(config.model.name, **hparams)` with data-derived defaults.

  `input_shape` defaults to the stored example shape and `num_classes` to the
  number of values after binarization; giving a conflicting `num_classes`
  fails here, and an unknown hparam fails in `models.get` naming it.
  """
  from ar_jax import input_pipeline  # pylint: disable=import-outside-toplevel
  hparams = config.model.hparams.to_dict()
  hparams.setdefault("input_shape", info.shape)
  input_pipeline.check_model_shape(info.shape, hparams["input_shape"])
  if hparams.setdefault("num_classes", info.num_classes) != info.num_classes:
    raise ValueError(
        f"config.model.hparams.num_classes={hparams['num_classes']} but the data "
        f"(data.name={config.data.name!r}, data.binarization="
        f"{config.data.binarization!r}) has {info.num_classes} values per "
        "dimension; expected them to match (or leave num_classes unset)")
  try:
    return models.get(config.model.name, **hparams)
  except KeyError as e:
    raise ValueError(f"config.model.name={config.model.name!r}: {e.args[0]}") from None
  except TypeError as e:
    raise ValueError(f"config.model.hparams: {e}") from None


def _init(model, tx, ema, key_data, dummy_x):
  # Key data (uint32 numpy) in, not a key array: numpy inputs are valid jit
  # arguments on every process of a multi-host run.
  init_key, rng_key = jax.random.split(jax.random.wrap_key_data(key_data))
  variables = model.init(init_key, dummy_x)
  if set(variables) != {"params"}:
    raise ValueError(f"{type(model).__name__}: expected only a 'params' collection, "
                     f"got {sorted(variables)}")
  params = variables["params"]
  return TrainState(
      step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
      ema_params=jax.tree.map(jnp.copy, params) if ema else None,
      rng=jax.random.key_data(rng_key))


def abstract_state(model, tx, ema):
  """Shapes and dtypes of the state, no FLOPs (`jax.eval_shape`)."""
  return jax.eval_shape(functools.partial(_init, model, tx, ema),
                        _key_data(jax.random.key(0)), _dummy(model))


def state_sharding(abstract, mesh):
  """Every leaf replicated (pure data parallelism)."""
  return jax.tree.map(lambda _: sharding_lib.replicated(mesh), abstract)


def init_state(model, tx, ema, key, mesh):
  """Initializes the state directly into its (replicated) sharding."""
  abstract = abstract_state(model, tx, ema)
  init = jax.jit(functools.partial(_init, model, tx, ema),
                 out_shardings=state_sharding(abstract, mesh))
  return init(_key_data(key), _dummy(model))


def _key_data(key):
  return np.asarray(jax.random.key_data(key))


def _dummy(model):
  return np.zeros((1,) + tuple(model.input_shape), np.int32)


def abstract_with_sharding(abstract, mesh):
  """ShapeDtypeStructs carrying the target sharding (what a restore fills in)."""
  rep = sharding_lib.replicated(mesh)
  return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=rep),
                      abstract)

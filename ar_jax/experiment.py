"""Everything built from a config before the loop: shared by train, eval and sample.

`build(config)` reads the config in one direction, without touching any data
or checkpoint:

  config.data  -> data.pipeline.data_info   (what the model sees)
  config.model -> models.from_config        (defaults from the data)
  config.optim -> optim.make_optimizer
               -> train_state.abstract_state (init from a dummy of the data's dtype)
               -> steps.jit_train_steps, evaluation.jit_eval_step

Each RNG stream is `fold_in(key(config.seed), stream_id)`, so adding a stream
never changes the others.
"""

import dataclasses
import math
import os
from typing import Callable

import jax
import ml_collections
import optax

from ar_jax import configs
from ar_jax import evaluation
from ar_jax import models
from ar_jax import optim
from ar_jax import sharding as sharding_lib
from ar_jax import steps
from ar_jax import train_state
from ar_jax.data import pipeline
from ar_jax.models import from_config

_STREAMS = {"init": 0, "sample": 1, "eval": 2}


@dataclasses.dataclass(frozen=True)
class Experiment:
  """A built experiment: the config and everything derived from it."""
  config: ml_collections.ConfigDict
  data: pipeline.DataInfo
  model: models.ARModel
  mesh: jax.sharding.Mesh
  tx: optax.GradientTransformation
  schedule: optax.Schedule
  # Of ShapeDtypeStructs with their shardings (replicated, or FSDP by train.param_sharding).
  abstract: train_state.TrainState
  dummy: tuple  # (x, cond) one-example batch the state is initialized from.
  train_fn: Callable  # Jitted steps.train_steps: (state, {x, cond}[K, B]) -> (state, metrics).
  eval_fn: Callable  # Jitted evaluation.eval_step.
  # Splits already checked against their checksums by `batches` (once per run).
  verified: set = dataclasses.field(default_factory=set, compare=False)

  @property
  def num_dims(self):
    """Dimensions of one model input (example or window)."""
    return math.prod(self.model.input_shape)

  @property
  def dims_per_unit(self):
    """Dimensions per scored unit: an example, or one position of a stream."""
    return self.num_dims // self.data.shape[0] if self.data.is_stream else self.num_dims

  def key(self, stream):
    return jax.random.fold_in(jax.random.key(self.config.seed), _STREAMS[stream])

  def batches(self, split, *, train):
    """Train or eval batches of `split`, for this process.

    Opening the training data first verifies every split the run reads
    (train, eval and test) against the checksums `prepare` recorded, so a
    damaged file stops the run before its first step
    (`ar_jax.data.DataIntegrityError`, naming the file and the fix). Each
    split is verified once per experiment.
    """
    d = self.config.data
    wanted = {d.train_split, d.eval_split, d.test_split} if train else {split}
    if wanted - self.verified:
      pipeline.verify(d, wanted - self.verified)
      self.verified.update(wanted)
    size = self.config.train.batch_size if train else self.config.eval.batch_size
    return pipeline.make_batches(
        self.config.data, split, batch_size=size, seed=self.config.seed,
        sharding=sharding_lib.batch_sharding(self.mesh), train=train)


def build(config):
  """Checks the config and builds the experiment; fails before any heavy work."""
  configs.validate(config)
  mesh = sharding_lib.make_mesh()
  sharding_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  sharding_lib.check_batch_size(config.eval.batch_size, mesh, "eval.batch_size")
  data = pipeline.data_info(config.data)
  model = from_config.from_config(config.model, data)
  if data.is_stream and model.num_orderings != 1:
    raise ValueError(
        f"config.model: {config.model.name!r} with {model.num_orderings} orderings "
        f"cannot score stream positions one by one (data.name={config.data.name!r}); "
        "use a single-ordering model")
  tx, schedule = optim.make_optimizer(config.optim, optim.num_updates(config))
  ema = config.optim.ema_decay > 0
  cond = data.cond
  dummy = train_state.dummy_inputs(
      model, data.dtype, None if cond is None else cond.shape,
      None if cond is None else ("int32" if cond.is_discrete else "float32"))
  abstract = train_state.abstract_state(model, tx, ema, dummy)
  state_sharding = train_state.state_sharding(
      abstract, mesh, config.train.param_sharding, config.train.fsdp_min_size)
  return Experiment(
      config=config, data=data, model=model, mesh=mesh, tx=tx, schedule=schedule,
      abstract=train_state.abstract_with_sharding(abstract, mesh, state_sharding),
      dummy=dummy,
      train_fn=steps.jit_train_steps(config, model, tx, schedule, state_sharding, mesh),
      eval_fn=evaluation.jit_eval_step(config, model, mesh, state_sharding.params))


def state_shardings(exp):
  """The sharding of every leaf of the train state (a tree like `TrainState`)."""
  return jax.tree.map(lambda a: a.sharding, exp.abstract)


def init_state(exp):
  return train_state.init_state(exp.model, exp.tx, exp.config.optim.ema_decay > 0,
                                exp.key("init"), exp.mesh, exp.dummy,
                                shardings=state_shardings(exp))


def checkpoint_dirs(workdir):
  """(periodic, best-by-validation) checkpoint directories of a workdir."""
  return os.path.join(workdir, "checkpoints"), os.path.join(workdir, "checkpoints_best")

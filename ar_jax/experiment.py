"""Everything built from a config before the loop: shared by train, eval and sample.

`build(config)` validates the config, then makes the mesh, model, optimizer,
abstract state and jitted steps, without touching any data or checkpoint.
Each RNG stream is `fold_in(key(config.seed), stream_id)`, so adding a stream
never changes the others.
"""

import dataclasses
import os
from typing import Any

import jax
import numpy as np

from ar_jax import configs
from ar_jax import input_pipeline
from ar_jax import optim
from ar_jax import sampling
from ar_jax import sharding as sharding_lib
from ar_jax import steps
from ar_jax import train_state

_STREAMS = {"init": 0, "sample": 1, "eval": 2}


@dataclasses.dataclass
class Experiment:
  config: Any
  info: input_pipeline.DataInfo
  model: Any
  mesh: Any
  tx: Any
  schedule: Any
  abstract: Any  # TrainState of ShapeDtypeStructs with (replicated) shardings.
  train_fn: Any  # Jitted steps.train_steps.
  eval_fn: Any  # Jitted steps.eval_step.

  @property
  def num_dims(self):
    return int(np.prod(self.model.input_shape))

  def key(self, stream):
    return jax.random.fold_in(jax.random.key(self.config.seed), _STREAMS[stream])

  def batches(self, split, *, train):
    """Train- or EvalBatches for `split`, for this process."""
    size = self.config.train.batch_size if train else self.config.eval.batch_size
    return input_pipeline.make_batches(
        self.config.data, split, batch_size=size, seed=self.config.seed,
        sharding=sharding_lib.batch_sharding(self.mesh), train=train)


def build(config):
  """Checks the config and builds the experiment; fails before any heavy work."""
  configs.validate(config)
  mesh = sharding_lib.make_mesh()
  sharding_lib.check_batch_size(config.train.batch_size, mesh, "train.batch_size")
  sharding_lib.check_batch_size(config.eval.batch_size, mesh, "eval.batch_size")
  info = input_pipeline.data_info(config.data)
  model = train_state.make_model(config, info)
  tx, schedule = optim.make_optimizer(config.optim, optim.num_updates(config))
  ema = config.optim.ema_decay > 0
  abstract = train_state.abstract_state(model, tx, ema)
  state_sharding = train_state.state_sharding(abstract, mesh)
  return Experiment(
      config=config, info=info, model=model, mesh=mesh, tx=tx, schedule=schedule,
      abstract=train_state.abstract_with_sharding(abstract, mesh),
      train_fn=steps.jit_train_steps(config, model, tx, schedule, state_sharding, mesh),
      eval_fn=steps.jit_eval_step(config, model, mesh))


def init_state(exp):
  return train_state.init_state(exp.model, exp.tx, exp.config.optim.ema_decay > 0,
                                exp.key("init"), exp.mesh)


def evaluate(exp, params, split, batches=None):
  """NLL (nats/example) and bits/dim of `params` over the whole `split`.

  `batches`: the split's EvalBatches if already loaded (the train loop keeps
  the validation split in memory instead of reloading it every eval).
  """
  if batches is None:
    batches = exp.batches(split, train=False)
  key = jax.random.fold_in(exp.key("eval"), _split_id(split))
  return steps.evaluate(exp.eval_fn, params, batches, key, exp.mesh, exp.num_dims)


def _split_id(split):
  return int.from_bytes(split.encode()[:4].ljust(4, b"\0"), "little") & 0x7FFFFFFF


def sample_grid(exp, params, key, num_samples, temperature=1.0):
  """Draws samples (all processes take part) and lays them out as a uint8 image."""
  key = jax.device_put(key, sharding_lib.replicated(exp.mesh))
  x = sampling.sample(exp.model, {"params": params}, key, num_samples,
                      temperature=temperature)
  x = sharding_lib.to_host(x)
  from ar_jax import reporting  # pylint: disable=import-outside-toplevel
  shape = reporting.image_shape(exp.model.input_shape, exp.info.shape)
  return reporting.image_grid(x, shape, exp.info.num_classes)


def checkpoint_dirs(workdir):
  """(periodic, best-by-validation) checkpoint directories of a workdir."""
  return os.path.join(workdir, "checkpoints"), os.path.join(workdir, "checkpoints_best")

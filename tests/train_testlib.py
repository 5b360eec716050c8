"""Shared helpers for tests/test_train*.py: a tiny model, a tiny config, a runner.

Run as a script it trains one tiny config in a fresh process, which is how the
tests get a real multi-device (`--devices 8`) or multi-process run:

  python tests/train_testlib.py --workdir W --devices 8 --out out.npz \
      [--overrides '{"train.num_steps": 6}'] [--process_id 0 --num_processes 2 --port P] \
      [--stop_after N]

The npz holds the final step, test NLL, train losses and every state leaf of
the newest checkpoint (`state<path>`), plus each leaf's restored sharding:
`spec<path>` (the PartitionSpec as text) and `shard<path>` (the shape of the
first device's shard). `--stop_after N` stops the run as a signal would
after N dispatches (the npz then holds the checkpoint it saved).
"""

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys

import flax.linen as nn
import numpy as np

from ar_jax import distributions
from ar_jax.models import base

import testlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


@contextlib.contextmanager
def tiny_models():
  """Registers "tiny_ar" and "tiny_cond_ar" inside the block (tests only).

  Test modules use it through an autouse fixture, so the registry is never
  edited at import time and nothing leaks into other modules.
  """
  with testlib.registered("tiny_ar", TinyAR), \
      testlib.registered("tiny_cond_ar", TinyCondAR):
    yield


class TinyAR(base.ARModel):
  """Logistic autoregression (FVSBN-like): out_d = sum_{i<d} W_id x_i + b_d."""
  input_shape: tuple
  num_classes: int = 2

  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  @nn.compact
  def __call__(self, x, cond=None):
    self.check_unconditional(cond)
    return _tiny_logits(self, x)


def _tiny_logits(module, x):
  """Logistic autoregression outputs of `module` (called in its compact method)."""
  x_BxSxK = module.one_hot(x)
  b, d, k = x_BxSxK.shape[0], module.num_dims, module.num_classes
  p = module.distribution.num_params
  mask = np.kron(np.triu(np.ones((d, d), np.float32), 1), np.ones((k, p), np.float32))
  w = module.param("w", nn.initializers.normal(0.01), (d * k, d * p))
  bias = module.param("b", nn.initializers.zeros, (d * p,))
  out = x_BxSxK.reshape(b, d * k) @ (w * mask) + bias[None]
  return out.reshape((b,) + tuple(module.input_shape) + (p,))


class TinyCondAR(TinyAR):
  """TinyAR plus a cond-dependent bias on every output (label or vector cond).

  `cond_classes` > 0: cond is an int label [B]; `cond_size` > 0: cond is a
  float array [B, ...] of that many elements. Refuses a missing cond.
  """
  cond_classes: int = 0
  cond_size: int = 0

  @nn.compact
  def __call__(self, x, cond=None):
    out = _tiny_logits(self, x)
    if cond is None:
      raise ValueError("TinyCondAR is conditional: cond is required")
    if self.cond_classes:
      c = nn.one_hot(cond, self.cond_classes)
    else:
      c = cond.reshape(cond.shape[0], -1).astype(out.dtype)
    p = self.distribution.num_params
    w = self.param("cond_w", nn.initializers.normal(0.1), (c.shape[-1], self.num_dims * p))
    return out + (c @ w).reshape(out.shape)


def synthetic_data(kind="synthetic", **options):
  """The name of a tiny synthetic dataset (options: see ar_jax/data/synthetic.py).

  Splits of 64 / 20 / 19 examples (positions for tokens) and, for "synthetic",
  4x4x1 images, unless `options` say otherwise; e.g.
  `synthetic_data(classes=256, validation=37)`.
  """
  from ar_jax.data import synthetic  # pylint: disable=import-outside-toplevel
  tiny = dict(train=64, validation=20, test=19)
  if kind == "synthetic":
    tiny["shape"] = (4, 4, 1)
  return synthetic.make_name(kind, **{**tiny, **options})


def tiny_config(**overrides):
  """A seconds-long config on `synthetic_data()` with "tiny_ar"; `a__b=v` sets a.b."""
  from ar_jax import configs  # pylint: disable=import-outside-toplevel
  c = configs.default_config()
  c.data.name = synthetic_data()
  c.model.name = "tiny_ar"
  c.optim.lr = 1e-2
  c.optim.decay_steps = 6
  c.optim.schedule = "cosine"
  c.train.batch_size = 8
  c.train.num_steps = 6
  c.train.log_every_steps = 1
  c.train.checkpoint_every_steps = 2
  c.train.keep_checkpoints = 5
  c.eval.every_steps = 3
  c.eval.batch_size = 8
  c.eval.num_samples = 4
  apply_overrides(c, {k.replace("__", "."): v for k, v in overrides.items()})
  return c


def two_step_run(c, **hparams):
  """Experiment config `c` cut to 2 steps of batch 4 and one eval, on the same
  code path, with model hparams updated by `hparams` (a tiny model)."""
  c.model.hparams.update(hparams)
  return apply_overrides(c, {
      "train.batch_size": 4, "train.num_steps": 2, "train.log_every_steps": 1,
      "train.checkpoint_every_steps": 2, "eval.every_steps": 2, "eval.batch_size": 8,
      "eval.num_samples": 1})


def apply_overrides(c, overrides):
  for key, value in overrides.items():
    *path, last = key.split(".")
    node = c
    for p in path:
      node = node[p]
    node[last] = tuple(value) if isinstance(value, list) else value
  return c


def load_state(config, workdir, best=False, as_numpy=True):
  """The newest (or best) checkpointed TrainState of a run, as numpy (or as
  restored: jax arrays in the config's shardings)."""
  import jax  # pylint: disable=import-outside-toplevel
  from ar_jax import checkpoint, experiment  # pylint: disable=import-outside-toplevel
  exp = experiment.build(config)
  d = experiment.checkpoint_dirs(workdir)[1 if best else 0]
  ckpt = checkpoint.Checkpointer(d, max_to_keep=100, async_save=False)
  try:
    state, meta, step = ckpt.restore(exp.abstract)
  finally:
    ckpt.close()
  return (jax.tree.map(np.asarray, state) if as_numpy else state), meta, step


def train_losses(workdir):
  rows = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  return np.array([r["loss"] for r in rows if r["split"] == "train"])


def free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def runner_cmd(workdir, out, devices=1, overrides=None, process_id=None,
               num_processes=None, port=None, stop_after=None):
  cmd = [sys.executable, os.path.join(HERE, "train_testlib.py"), "--workdir", str(workdir),
         "--out", str(out), "--devices", str(devices),
         "--overrides", json.dumps(overrides or {})]
  if stop_after:
    cmd += ["--stop_after", str(stop_after)]
  if num_processes:
    cmd += ["--process_id", str(process_id), "--num_processes", str(num_processes),
            "--port", str(port)]
  return cmd


def runner_env():
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join([ROOT, HERE, env.get("PYTHONPATH", "")])
  env["JAX_PLATFORMS"] = "cpu"
  env.pop("XLA_FLAGS", None)
  return env


def run(workdir, out, timeout=240, **kwargs):
  """Runs the runner in a subprocess and returns its npz output."""
  p = subprocess.run(runner_cmd(workdir, out, **kwargs), env=runner_env(),
                     capture_output=True, text=True, timeout=timeout, check=False)
  if p.returncode != 0:
    raise AssertionError(f"runner failed (rc={p.returncode}):\n{p.stderr[-4000:]}")
  return dict(np.load(out))


def _main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--workdir", required=True)
  ap.add_argument("--out", required=True)
  ap.add_argument("--devices", type=int, default=1)
  ap.add_argument("--overrides", default="{}")
  ap.add_argument("--process_id", type=int)
  ap.add_argument("--num_processes", type=int)
  ap.add_argument("--port", type=int)
  ap.add_argument("--stop_after", type=int)
  a = ap.parse_args()
  import jax  # pylint: disable=import-outside-toplevel
  jax.config.update("jax_num_cpu_devices", a.devices)
  from ar_jax import sharding, train  # pylint: disable=import-outside-toplevel
  if a.num_processes:
    sharding.maybe_initialize_distributed(f"localhost:{a.port}", a.num_processes,
                                          a.process_id)
  config = apply_overrides(tiny_config(), json.loads(a.overrides))
  with tiny_models():
    stop = StopAfter(a.stop_after) if a.stop_after else None
    results = train.train_and_evaluate(config, a.workdir, stop=stop)
    state, _, step = load_state(config, a.workdir, as_numpy=False)
  leaves = [(jax.tree_util.keystr(p), v) for p, v in jax.tree_util.tree_leaves_with_path(state)]
  arrays = {"state" + k: np.asarray(sharding.to_host(v)) for k, v in leaves}
  arrays.update({"spec" + k: np.array(str(v.sharding.spec)) for k, v in leaves})
  arrays.update({"shard" + k: np.array(v.addressable_shards[0].data.shape, np.int64)
                 for k, v in leaves})
  if jax.process_index() == 0 or a.num_processes:
    np.savez(a.out, step=step, test_nll=results.get("test_nll", np.nan),
             losses=train_losses(a.workdir) if jax.process_index() == 0 else np.zeros(0),
             **arrays)


class StopAfter:
  """Acts like a stop signal arriving after `n` dispatches (one step each here)."""

  def __init__(self, n):
    self.n = n

  def requested(self):
    self.n -= 1
    return self.n <= 0


def train_steps_logged(workdir):
  """Steps of the train rows of `workdir/metrics.jsonl` (a torn last line skipped)."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    rows = [json.loads(l) for l in f if l.strip().endswith("}")]
  return [r["step"] for r in rows if r["split"] == "train"]


if __name__ == "__main__":
  _main()

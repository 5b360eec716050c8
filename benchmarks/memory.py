r"""Per-device memory of the train state, replicated against FSDP, from XLA.

  python -m benchmarks.memory [--devices 8] [--configs made_2x8000_1mask_mnist.py,...]

For each paper-size config (the full variant, no `:cpu`) it builds the
experiment twice, with `train.param_sharding` "replicated" and "fsdp", on
`--devices` simulated CPU devices, compiles the trainer's own jitted step
(`exp.train_fn`) for the state's shardings and one global batch, and reads
`compiled.memory_analysis()`, which XLA reports per device:

- `state_bytes`: the arguments minus this device's rows of the batch: the
  params, optimizer state and EMA one device holds;
- `state_bytes_from_shardings`: the same, summed from each leaf's shard shape
  (a cross-check of the figure above);
- `temp_bytes`: XLA's temporaries (activations, gradients, and under FSDP the
  weights it gathers for a layer).

Nothing is allocated or run. The train batch is rounded up to a multiple of
the device count (the mesh needs it) and recorded; a dataset that is not
prepared is replaced by a synthetic stand-in of the same shape (`STAND_INS`),
which changes no parameter. The config with the most parameters is the one
docs/training.md reports.
"""

import argparse
import json
import math
import os
import platform
import time

import jax
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = ("made_2x8000_1mask_mnist.py", "pixelcnn_pp_cifar10.py",
           "gated_pixelcnn_cifar10.py", "transformer_shakespeare.py")
# TFDS datasets that need a download; the step's memory depends only on shapes.
STAND_INS = {"cifar10": dict(shape=(32, 32, 3), classes=256)}


def _config(name, devices, param_sharding):
  from ar_jax import configs  # pylint: disable=import-outside-toplevel
  from ar_jax.data import reading, synthetic  # pylint: disable=import-outside-toplevel
  c = configs.load(os.path.join(ROOT, "experiments", "configs", name))
  stand_in = None
  try:
    reading.get_spec(c.data.name, data_dir=c.data.data_dir)
  except Exception:  # pylint: disable=broad-exception-caught
    if c.data.name not in STAND_INS:
      raise
    stand_in = c.data.name
    c.data.name = synthetic.make_name("synthetic", **STAND_INS[stand_in])
  for key in ("train", "eval"):
    c[key].batch_size = math.ceil(c[key].batch_size / devices) * devices
  c.train.param_sharding = param_sharding
  return c, stand_in


def _batch(exp):
  """ShapeDtypeStructs of one dispatch's global batch `{x, cond}[1, B, ...]`."""
  from ar_jax import sharding  # pylint: disable=import-outside-toplevel
  bat = sharding.batch_sharding(exp.mesh, 1)
  spec, b = exp.data.spec, exp.config.train.batch_size
  feats = {"x": (exp.data.shape, spec.feature(spec.x).dtype)}
  if exp.data.cond is not None:
    feats["cond"] = (exp.data.cond.shape, exp.data.cond.dtype)
  return {k: jax.ShapeDtypeStruct((1, b) + tuple(s), np.dtype(d), sharding=bat)
          for k, (s, d) in feats.items()}


def _nbytes(shape, dtype):
  return math.prod(shape) * np.dtype(dtype).itemsize


def measure(name, devices, param_sharding):
  """The memory record of one config and sharding mode."""
  from ar_jax import experiment  # pylint: disable=import-outside-toplevel
  c, stand_in = _config(name, devices, param_sharding)
  exp = experiment.build(c)
  batch = _batch(exp)
  t0 = time.time()
  with jax.set_mesh(exp.mesh):
    compiled = exp.train_fn.lower(exp.abstract, batch).compile()
  ma = compiled.memory_analysis()
  leaves = jax.tree.leaves(exp.abstract)
  batch_bytes = sum(_nbytes(a.sharding.shard_shape(a.shape), a.dtype)
                    for a in batch.values())
  sharded = [a for a in jax.tree.leaves(exp.abstract.params)
             if not a.sharding.is_fully_replicated]
  return dict(
      config=name, param_sharding=param_sharding, fsdp_min_size=c.train.fsdp_min_size,
      data=c.data.name, stand_in_for=stand_in,
      train_batch_size=c.train.batch_size, optimizer=c.optim.name,
      ema=c.optim.ema_decay > 0, grad_accum_steps=c.optim.grad_accum_steps,
      num_params=sum(math.prod(a.shape) for a in jax.tree.leaves(exp.abstract.params)),
      params_sharded=sum(math.prod(a.shape) for a in sharded),
      state_bytes_total=sum(_nbytes(a.shape, a.dtype) for a in leaves),
      state_bytes=ma.argument_size_in_bytes - batch_bytes,
      state_bytes_from_shardings=sum(
          _nbytes(a.sharding.shard_shape(a.shape), a.dtype) for a in leaves),
      argument_bytes=ma.argument_size_in_bytes, output_bytes=ma.output_size_in_bytes,
      alias_bytes=ma.alias_size_in_bytes, temp_bytes=ma.temp_size_in_bytes,
      batch_bytes=batch_bytes, compile_s=round(time.time() - t0, 1))


def main():
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--devices", type=int, default=8)
  ap.add_argument("--configs", default=",".join(CONFIGS),
                  help="comma-separated file names under experiments/configs/")
  ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "memory.json"))
  ap.add_argument("--update", action="store_true",
                  help="keep the other configs' rows of an existing --out record")
  a = ap.parse_args()
  jax.config.update("jax_platforms", "cpu")
  jax.config.update("jax_num_cpu_devices", a.devices)
  rows = []
  for name in filter(None, a.configs.split(",")):
    for mode in ("replicated", "fsdp"):
      rows.append(measure(name, a.devices, mode))
      r = rows[-1]
      print(f"{name:32s} {mode:10s} params {r['num_params'] / 1e6:7.2f}M  state/device "
            f"{r['state_bytes'] / 2**20:9.1f} MiB  temp {r['temp_bytes'] / 2**20:9.1f} MiB",
            flush=True)
  if a.update and os.path.exists(a.out):
    with open(a.out, encoding="utf-8") as f:
      old = json.load(f)
    if old["devices"] != a.devices:
      raise SystemExit(f"--update: {a.out} was measured on {old['devices']} devices, "
                       f"not {a.devices}; write a new record with --out")
    done = {r["config"] for r in rows}
    rows = [r for r in old["rows"] if r["config"] not in done] + rows
  largest = max(rows, key=lambda r: r["num_params"])["config"]
  record = dict(
      devices=a.devices, device_kind=jax.devices()[0].device_kind,
      platform=jax.devices()[0].platform, simulated="jax_num_cpu_devices on one CPU host",
      jax=jax.__version__, machine=platform.machine(),
      date=time.strftime("%Y-%m-%d", time.gmtime()), largest_config=largest, rows=rows)
  os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
  with open(a.out, "w", encoding="utf-8") as f:
    json.dump(record, f, indent=2)
  print(f"largest by parameters: {largest}; wrote {a.out}")


if __name__ == "__main__":
  main()

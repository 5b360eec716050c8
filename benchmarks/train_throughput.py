r"""Train-step throughput of the experiment configs, on synthetic data.

Measures the jitted, mesh-sharded `steps.train_steps` (one dispatch of
`train.steps_per_dispatch` steps) exactly as `train_and_evaluate` runs it,
after warm-up (compilation and the first dispatches are excluded). Prints a
table and writes JSON:

  python benchmarks/train_throughput.py [--configs=made_mnist,fvsbn_mnist] \
      [--variant=cpu] [--seconds=10] [--out=train_throughput.json]

Numbers depend on the machine and its load; tests never assert on them.
"""

import argparse
import importlib.util
import json
import os
import sys
import time

import jax
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ar_jax import experiment  # pylint: disable=wrong-import-position
from ar_jax import sharding  # pylint: disable=wrong-import-position


def load_config(name, variant):
  path = os.path.join(ROOT, "experiments", "configs", f"{name}.py")
  spec = importlib.util.spec_from_file_location(f"config_{name}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(variant)


def bench(config, seconds, warmup_dispatches=3):
  """Examples/s and steps/s of the train step, synthetic data of the config's shape."""
  config.data.name = "synthetic"  # 28x28x1 binary images, as binarized MNIST.
  exp = experiment.build(config)
  k, b = config.train.steps_per_dispatch, config.train.batch_size
  rng = np.random.default_rng(0)
  batch_np = (rng.random((k, b, 28, 28, 1)) < 0.13).astype(np.uint8)
  bat = sharding.batch_sharding(exp.mesh, 1)
  batch = {"x": sharding.to_global(batch_np, bat, batch_np.shape)}
  with jax.set_mesh(exp.mesh):
    state = experiment.init_state(exp)
    t0 = time.perf_counter()
    for _ in range(warmup_dispatches):
      state, metrics = exp.train_fn(state, batch)
    jax.block_until_ready(metrics)
    compile_and_warmup_s = time.perf_counter() - t0
    dispatches, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
      state, metrics = exp.train_fn(state, batch)
      dispatches += 1
    jax.block_until_ready((state, metrics))
    elapsed = time.perf_counter() - t0
  steps_per_s = dispatches * k / elapsed
  return dict(steps_per_sec=steps_per_s, examples_per_sec=steps_per_s * b,
              batch_size=b, steps_per_dispatch=k, measured_steps=dispatches * k,
              measured_s=elapsed, warmup_s=compile_and_warmup_s)


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--configs", default="made_mnist,made_8000_1mask_mnist,fvsbn_mnist,nade_mnist,deepnade_mnist")
  ap.add_argument("--variant", default="cpu", help="config variant ('' = full)")
  ap.add_argument("--seconds", type=float, default=10.0, help="timed seconds per config")
  ap.add_argument("--out", default="train_throughput.json")
  args = ap.parse_args()
  devices = jax.devices()
  rows = []
  for name in args.configs.split(","):
    r = bench(load_config(name, args.variant), args.seconds)
    r.update(config=f"{name}:{args.variant}" if args.variant else name)
    rows.append(r)
  header = f"{'config':<20} {'batch':>6} {'K':>3} {'steps/s':>10} {'examples/s':>12} {'warmup s':>9}"
  print(f"device: {devices[0].device_kind} x {len(devices)}")
  print(header)
  print("-" * len(header))
  for r in rows:
    print(f"{r['config']:<20} {r['batch_size']:>6} {r['steps_per_dispatch']:>3} "
          f"{r['steps_per_sec']:>10.1f} {r['examples_per_sec']:>12.0f} {r['warmup_s']:>9.2f}")
  with open(args.out, "w", encoding="utf-8") as f:
    json.dump(dict(device_kind=devices[0].device_kind, device_count=len(devices),
                   jax_version=jax.__version__, results=rows), f, indent=2)
  print(f"wrote {args.out}")


if __name__ == "__main__":
  main()

"""WaveNet speed: naive vs cached (Fast WaveNet) generation, and training throughput.

`rows(quick)` -> list of dicts with keys `COLUMNS` (imported by the shared
dispatcher `benchmarks/sequence_models.py`); run alone it prints the table and
writes JSON (default `benchmarks/results/sequence_audio.json`):

  python benchmarks/sequence_audio.py [--quick] [--out PATH]

Generation of T samples at 8 kHz (T = 8000 is 1 s of audio):
- cached: `ar_jax.sample(..., use_cache=True)`, the whole T-step scan, timed
  end to end (compile excluded: one warm-up call first);
- naive: `ar_jax.sample(..., use_cache=False)` re-runs the full model on the
  whole [B, T] sequence at every step, T forward passes of length T. At
  T = 8000 that takes hours, so it is NOT run to the end: one naive step (a
  jitted forward pass over [B, T] plus the draw, exactly the body of the
  sampler's naive scan) is timed and multiplied by T. The column
  `naive_extrapolated` says so on every row where this is done.
Training: samples/s of a jitted Adam step on [B, T] windows (forward +
backward over every position), warm-up excluded.
Timings on a shared machine are noisy; the conditions go into the JSON.
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import optax

import ar_jax
from ar_jax import models

COLUMNS = ("model", "layers", "length", "batch", "cached_samples_per_s", "naive_samples_per_s",
           "naive_extrapolated", "speedup", "cached_seconds", "train_samples_per_s")

# The two configurations of experiments/configs/wavenet_speech.py.
CONFIGS = {
    "cpu (2x1..64)": dict(num_stacks=2, layers_per_stack=7, residual_channels=32,
                          gate_channels=32, skip_channels=64),
    "default (3x1..512)": dict(num_stacks=3, layers_per_stack=10, residual_channels=64,
                               gate_channels=64, skip_channels=256),
}
QUICK = {"tiny (2x1..4)": dict(num_stacks=2, layers_per_stack=3, residual_channels=8,
                               gate_channels=8, skip_channels=16)}


def _median_time(fn, repeats):
  jax.block_until_ready(fn())  # compile / warm up
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - t0)
  return statistics.median(times)


def _model(hp, length):
  return models.get("wavenet", input_shape=(length,), **hp)


def sampling_row(name, hp, length, batch, repeats=1):
  model = _model(hp, length)
  x = jnp.zeros((batch, length), jnp.int32)
  variables = model.init(jax.random.key(0), x)
  key = jax.random.key(1)
  cached_s = _median_time(lambda: ar_jax.sample(model, variables, key, batch), repeats)

  @jax.jit
  def naive_step(variables, x, key):  # the naive scan's body: full forward + draw
    params = model.apply(variables, x)[:, length // 2]
    return x.at[:, length // 2].set(model.distribution.sample(key, params))

  step_s = _median_time(lambda: naive_step(variables, x, key), max(3, repeats))
  naive_s = step_s * length
  return {"model": name, "layers": len(model.dilations), "length": length, "batch": batch,
          "cached_samples_per_s": round(batch * length / cached_s, 1),
          "naive_samples_per_s": round(batch * length / naive_s, 2),
          "naive_extrapolated": f"1 step timed x {length}",
          "speedup": round(naive_s / cached_s, 1), "cached_seconds": round(cached_s, 2),
          "train_samples_per_s": None}


def training_row(name, hp, length, batch, repeats=3):
  model = _model(hp, length)
  x = jax.random.randint(jax.random.key(2), (batch, length), 0, model.num_classes)
  variables = model.init(jax.random.key(0), x)
  opt = optax.adam(1e-3)

  @jax.jit
  def step(variables, opt_state, x):
    loss = lambda v: -model.apply(v, x, method="log_prob").mean()
    grads = jax.grad(loss)(variables)
    updates, opt_state = opt.update(grads, opt_state, variables)
    return optax.apply_updates(variables, updates), opt_state

  state = (variables, opt.init(variables))
  s = _median_time(lambda: step(*state, x), repeats)
  return {"model": name, "layers": len(model.dilations), "length": length, "batch": batch,
          "cached_samples_per_s": None, "naive_samples_per_s": None,
          "naive_extrapolated": "", "speedup": None, "cached_seconds": None,
          "train_samples_per_s": round(batch * length / s, 1)}


def _plan(quick):
  """[(function, args)] of the rows, cheapest first (so partial runs say most)."""
  if quick:
    (name, hp), = QUICK.items()
    return [(sampling_row, (name, hp, 64, 2)), (training_row, (name, hp, 64, 2, 1))]
  (cpu, cpu_hp), (default, default_hp) = CONFIGS.items()
  one_stack = "cpu, 1 stack (1x1..64)"
  one_stack_hp = dict(cpu_hp, num_stacks=1)  # growth with the number of layers
  return [
      (sampling_row, (cpu, cpu_hp, 8000, 1)),  # 1 s of audio, batch 1 and 8
      (sampling_row, (cpu, cpu_hp, 8000, 8)),
      (sampling_row, (cpu, cpu_hp, 2000, 1)),  # growth with the length
      (sampling_row, (one_stack, one_stack_hp, 8000, 1)),
      (training_row, (cpu, cpu_hp, 960, 4)),
      (training_row, (one_stack, one_stack_hp, 960, 4)),
      (sampling_row, (default, default_hp, 8000, 1)),
      (training_row, (default, default_hp, 8000, 1)),
      (sampling_row, (default, default_hp, 8000, 8)),
  ]


def rows(quick=False, progress=None):
  """Benchmark rows (dicts with keys COLUMNS); `quick`: tiny sizes, seconds.

  `progress(row)` is called after each row (the full run takes minutes).
  """
  out = []
  for fn, args in _plan(quick):
    out.append(fn(*args))
    if progress:
      progress(out[-1])
  return out


def _table(rs):
  widths = {c: max(len(c), *(len(str(r[c])) for r in rs)) for c in COLUMNS}
  lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS)]
  lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS) for r in rs]
  return "\n".join(lines)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
  parser.add_argument("--out", default=None, help="JSON path")
  args = parser.parse_args(argv)
  rs = rows(quick=args.quick, progress=lambda r: print(json.dumps(r), flush=True))
  print(_table(rs))
  out = args.out or str(pathlib.Path(__file__).parent / "results" / (
      "sequence_audio_quick.json" if args.quick else "sequence_audio.json"))
  os.makedirs(os.path.dirname(out), exist_ok=True)
  with open(out, "w") as f:
    json.dump({"rows": rs, "conditions": {
        "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "jax": jax.__version__, "backend": jax.default_backend(),
        "load_average": os.getloadavg(), "quick": args.quick}}, f, indent=1)
  print(f"wrote {out}")
  return rs


if __name__ == "__main__":
  main()

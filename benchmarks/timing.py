"""The timer every benchmark script uses, and the machine facts stored with each result.

- `median_seconds(fn, *args)`: seconds per call of `fn(*args)` (blocked on its
  output); one warm-up call (the compile) is excluded, the calls per window are
  calibrated to `min_time / repeats` (the last calibration window counts as
  the first), and the median over `repeats` windows is returned.
- `carried_seconds(fn, carry, *args)`: the same for `carry = fn(carry, *args)`
  with `carry` donated, so XLA writes in place as the trainer does.
- `interleaved(measures, rounds)`: alternates several measurements round by
  round (order reversed every other round), so a drift of the machine hits all
  of them alike; returns the median of each.
- `matmul_peak()`, `memory_bandwidth()`: the float32 GEMM rate and streaming
  bandwidth of this machine, measured in the same run as the models.
- `write_record(path, results, ...)`: the JSON every script writes, with the
  platform, the load average (`os.getloadavg()`) at the start and the end of the
  run, and the matmul peak of that run.
"""

import json
import os
import pathlib
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ar_jax import optim, sharding, steps, train_state

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
LOAD_AT_IMPORT = os.getloadavg()


def median_seconds(fn, *args, repeats=5, min_time=1.0, clock="wall"):
  """Median seconds per call of `fn(*args)` over `repeats` windows, warm-up excluded."""
  now = CLOCKS[clock]
  jax.block_until_ready(fn(*args))

  def window(n):
    t0 = now()
    for _ in range(n):
      out = fn(*args)
    jax.block_until_ready(out)
    return (now() - t0) / n

  n, first = 1, window(1)
  while n * first < min_time / repeats:  # calls per window
    n *= 2
    first = window(n)
  return statistics.median([first] + [window(n) for _ in range(repeats - 1)])


def carried_seconds(fn, carry, *args, **kwargs):
  """Median seconds of `carry = fn(carry, *args)`, with `carry` donated by `fn`.

  Threading the outputs back in lets XLA write in place; without it every call
  allocates fresh output buffers, whose page faults can cost as much as a GEMM.
  """
  box = [carry]

  def advance():
    box[0] = fn(box[0], *args)
    return box[0]

  return median_seconds(advance, **kwargs)


def interleaved(measures, rounds, clock="wall", calls=1):
  """{name: (median, all seconds per call)} of zero-argument `measures`, alternated.

  Every measure is called once first (compile, warm-up); then each round times
  `calls` calls of every measure, in reversed order every other round.
  """
  now = CLOCKS[clock]
  for fn in measures.values():
    jax.block_until_ready(fn())
  times = {name: [] for name in measures}
  for r in range(rounds):
    for name in (list(measures) if r % 2 == 0 else list(measures)[::-1]):
      t0 = now()
      for _ in range(calls):
        out = measures[name]()
      jax.block_until_ready(out)
      times[name].append((now() - t0) / calls)
  return {name: (statistics.median(t), t) for name, t in times.items()}


def matmul_peak(sizes=((1024, 1024, 1024), (100, 784, 8000), (2048, 2048, 2048))):
  """Best float32 GEMM GFLOP/s over `sizes` (m, k, n): the machine's practical peak."""
  best = 0.0
  for m, k, n in sizes:
    a = jax.random.normal(jax.random.key(0), (m, k))
    b = jax.random.normal(jax.random.key(1), (k, n))
    best = max(best, 2 * m * k * n / median_seconds(jax.jit(jnp.matmul), a, b) / 1e9)
  return best


def memory_bandwidth(n_bytes=200_000_000):
  """GB/s of a streaming in-place update (each byte read once, written once)."""
  f = jax.jit(lambda a: a * 1.0001, donate_argnums=0)
  a = jax.random.normal(jax.random.key(0), (n_bytes // 4,))
  return 2 * n_bytes / carried_seconds(f, a) / 1e9


def adam_step(model, x):
  """(step, state): an Adam step maximizing `train_log_prob` on `x`, not jitted.

  `state` is (variables, Adam state, step count); step i draws the model's key
  as `fold_in(key(1), i)`. Jit it with `donate_argnums=0`, as the trainer does.
  """
  variables = model.init(jax.random.key(0), x)
  opt = optax.adam(1e-3)

  def step(state):
    v, s, i = state
    key = jax.random.fold_in(jax.random.key(1), i)
    loss, g = jax.value_and_grad(
        lambda v: -model.apply(v, x, key, method="train_log_prob").mean())(v)
    u, s = opt.update(g, s, v)
    return optax.apply_updates(v, u), s, i + 1

  return step, (variables, opt.init(variables), jnp.zeros((), jnp.int32))


def trainer_step(config, model):
  """(train_fn, new_state, tx, mesh): the trainer's jitted step for `model` under `config`.

  `train_fn(state, batch)` is `steps.jit_train_steps`, as `python -m ar_jax.main`
  runs it (batch: {"x": [K, B, ...]} on the mesh); `new_state()` makes a fresh
  `TrainState` (init key 0, no EMA) each call.
  """
  mesh = sharding.make_mesh()
  tx, schedule = optim.make_optimizer(config.optim, optim.num_updates(config))
  dummy = train_state.dummy_inputs(model, np.int32)
  abstract = train_state.abstract_state(model, tx, False, dummy)
  train_fn = steps.jit_train_steps(config, model, tx, schedule,
                                   train_state.state_sharding(abstract, mesh), mesh)
  return (train_fn, lambda: train_state.init_state(model, tx, False, jax.random.key(0), mesh,
                                                   dummy), tx, mesh)


def compiled_flops(jitted, *args):
  """XLA's FLOP count of one call of `jitted(*args)` (0 if the backend gives none)."""
  cost = jitted.lower(*args).compile().cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else cost
  return float((cost or {}).get("flops", 0.0))


def train_step_seconds(model, x, **kwargs):
  """Median seconds of a jitted, donated Adam step (`adam_step`) on the batch `x`.

  `kwargs` go to `median_seconds` (repeats, min_time, clock).
  """
  step, state = adam_step(model, x)
  return carried_seconds(jax.jit(step, donate_argnums=0), state, **kwargs)


def machine():
  """Platform, CPU count, JAX version and device of this process."""
  return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
          "cpus": os.cpu_count(), "jax": jax.__version__, "backend": jax.default_backend(),
          "device": jax.devices()[0].device_kind}


def write_record(path, results, *, matmul_peak_gflops=None, quick=False):
  """Writes `results` (a dict) as JSON with the machine, its load and the run's matmul peak."""
  doc = {"machine": machine(),
         "load_average": {"start": list(LOAD_AT_IMPORT), "end": list(os.getloadavg())},
         "matmul_peak_gflops": matmul_peak_gflops, "quick": quick, **results}
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(doc, indent=1) + "\n")
  print(f"wrote {path}")


def default_out(script, quick):
  """`benchmarks/results/<script>.json` (`<script>_quick.json` for a smoke run)."""
  return pathlib.Path(__file__).parent / "results" / f"{script}{'_quick' if quick else ''}.json"


def markdown(columns, rows):
  """A markdown table of `rows` (dicts) in `columns` order; floats rounded for reading."""
  def fmt(v):
    if v is None:
      return "-"
    if isinstance(v, float):
      return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
  return "\n".join(lines)

"""MADE / NADE training speed against the machine's matmul peak, and NADE sampling.

Prints a table and writes JSON (default `benchmarks/results/model_speed.json`).
Everything is measured in ONE run on the same machine, so the ratios are
comparable: the matmul peak is measured first (float32 GEMM at the sizes the
models use), then each model's jitted Adam train step (batch 100, warm-up
excluded, median of several timed windows, state donated as in the trainer), then NADE naive vs cached sampling
at several D to show O(D^2) vs O(D) growth.

  python benchmarks/model_speed.py [--quick] [--out PATH]

FLOP counts are of the matmuls only (2 * M * N * K each; backward = 2x forward),
so "% of peak" is the useful fraction of the machine's GEMM throughput.
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


def _time(fn, *args, repeats=5, min_time=1.0):
  """Median seconds per call of fn(*args) (blocked), after one warm-up call."""
  jax.block_until_ready(fn(*args))
  n, t = 1, 0.0
  while t < min_time / repeats:  # calibrate calls per window
    n *= 2
    t0 = time.perf_counter()
    for _ in range(n):
      out = fn(*args)
    jax.block_until_ready(out)
    t = time.perf_counter() - t0
  windows = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(n):
      out = fn(*args)
    jax.block_until_ready(out)
    windows.append((time.perf_counter() - t0) / n)
  return statistics.median(windows)


def matmul_peak(sizes=((1024, 1024, 1024), (100, 784, 8000), (2048, 2048, 2048))):
  """Best float32 GEMM GFLOP/s over a few shapes (the machine's practical peak)."""
  best = 0.0
  for m, k, n in sizes:
    a = jax.random.normal(jax.random.key(0), (m, k))
    b = jax.random.normal(jax.random.key(1), (k, n))
    f = jax.jit(lambda a, b: a @ b)
    best = max(best, 2 * m * k * n / _time(f, a, b) / 1e9)
  return best


def _time_threaded(fn, carry, *args):
  """Median seconds of `carry = fn(carry, *args)`, with `carry` donated by `fn`.

  Threading the outputs back in lets XLA write in place. Without it, every
  call allocates fresh output buffers, and the page faults of a 25-50 MB
  allocation cost as much as a GEMM on this machine.
  """
  box = [carry]

  def advance():
    box[0] = fn(box[0], *args)
    return box[0]

  return _time(advance)


def memory_bandwidth(n_bytes=200_000_000):
  """GB/s of a streaming in-place update (each byte read once, written once)."""
  f = jax.jit(lambda a: a * 1.0001, donate_argnums=0)
  a = jax.random.normal(jax.random.key(0), (n_bytes // 4,))
  return 2 * n_bytes / _time_threaded(f, a) / 1e9


def adam_train_step(model, x):
  """(step, state): an Adam step maximizing `train_log_prob` on `x`, not jitted.

  `state` is (variables, Adam state, step count); step i draws its key as
  `fold_in(key(1), i)`. The benchmarks jit it with `donate_argnums=0`.
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


def train_step_speed(model, x, flops_fwd):
  """Steps/s and GFLOP/s of a jitted Adam step maximizing train_log_prob."""
  step, state = adam_train_step(model, x)
  # Donated, like ar_jax.steps: params and Adam moments are updated in place.
  # Without donation every step allocates fresh 50 MB buffers for a
  # 784-8000-784 MADE, which costs ~30% of its step time on this machine.
  sec = _time_threaded(jax.jit(step, donate_argnums=0), state)
  return {"steps_per_s": 1 / sec, "examples_per_s": x.shape[0] / sec,
          "gflops": 3 * flops_fwd / sec / 1e9}


def made_breakdown(model, x, hidden):
  """Where a MADE 784-H-784 Adam step spends its time (ms per step).

  `gemms`: the five matrix products one step really runs (forward 2, input
  gradient of layer 2, two weight gradients; the input needs no gradient),
  alone on random operands. `grad`: forward + backward, no optimizer. Both
  write into donated buffers, like the donated Adam step (`step_ms`).
  """
  b, d = x.shape
  k = jax.random.split(jax.random.key(2), 5)
  xf, w1 = x.astype(jnp.float32), jax.random.normal(k[0], (d, hidden))
  w2, h = jax.random.normal(k[1], (hidden, d)), jax.random.normal(k[2], (b, hidden))
  delta = jax.random.normal(k[3], (b, d))
  gemms = jax.jit(lambda outs, x, w1, w2, h, dl: (x @ w1, h @ w2, dl @ w2.T, h.T @ dl, x.T @ h),
                  donate_argnums=0, keep_unused=True)
  operands = (xf, w1, w2, h, delta)
  outs = jax.tree.map(jnp.zeros_like, jax.eval_shape(gemms, (), *operands))
  variables = model.init(jax.random.key(0), x)
  grad = jax.jit(lambda prev, v: jax.grad(lambda v: -model.apply(
      v, x, jax.random.key(1), method="train_log_prob").mean())(v),
                 donate_argnums=0, keep_unused=True)
  return {"gemms_ms": 1e3 * _time_threaded(gemms, outs, *operands),
          "grad_ms": 1e3 * _time_threaded(grad, jax.tree.map(jnp.zeros_like, variables),
                                          variables)}


def mlp_flops(batch, sizes):
  return sum(2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))


def nade_sampling(dims=(64, 196, 784), hidden=500, n=16):
  rows = []
  for d in dims:
    model = models.get("nade", input_shape=(d,), hidden_size=hidden)
    v = model.init(jax.random.key(0), jnp.zeros((1, d), jnp.int32))
    t = {}
    for cached in (False, True):
      f = lambda key, c=cached: ar_jax.sample(model, v, key, n, use_cache=c)
      t[cached] = _time(f, jax.random.key(1), repeats=3, min_time=0.5)
    rows.append({"D": d, "naive_s": t[False], "cached_s": t[True],
                 "speedup": t[False] / t[True]})
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="skip MADE-8000 and large D")
  parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "model_speed.json"))
  args = parser.parse_args()

  b, d = 100, 784
  x = jax.random.bernoulli(jax.random.key(0), 0.13, (b, d)).astype(jnp.int32)
  peak = matmul_peak()
  bandwidth = memory_bandwidth()
  configs = [("made 784-500-784", "made", {"hidden_sizes": (500,)}, [d, 500, d]),
             ("made 784-500-500-784", "made", {"hidden_sizes": (500, 500)}, [d, 500, 500, d]),
             ("made 784-500-784, 32 masks", "made",
              {"hidden_sizes": (500,), "num_masks": 32, "order_agnostic": True,
               "connectivity_agnostic": True}, [d, 500, d])]
  if not args.quick:
    configs.append(("made 784-8000-784", "made", {"hidden_sizes": (8000,)}, [d, 8000, d]))
  if "nade" in models.names():
    # NADE-500: W (HxD) and V (DxH) products, each 2*B*D*H flops.
    configs.append(("nade 500", "nade", {"hidden_size": 500}, None))
  rows = []
  for label, name, hp, sizes in configs:
    model = models.get(name, input_shape=(d,), **hp)
    flops = mlp_flops(b, sizes) if sizes else 2 * (2 * b * d * 500)
    r = train_step_speed(model, x, flops)
    r.update(model=label, pct_peak=100 * r["gflops"] / peak)
    if label == "made 784-8000-784":
      r.update(made_breakdown(model, x, 8000), step_ms=1e3 / r["steps_per_s"])
    rows.append(r)
    print(f"{label:32s} {r['steps_per_s']:9.1f} steps/s {r['examples_per_s']:10.0f} ex/s "
          f"{r['gflops']:7.1f} GFLOP/s {r['pct_peak']:5.1f}% of peak", flush=True)
  sampling = nade_sampling(dims=(64, 196) if args.quick else (64, 196, 784)) \
      if "nade" in models.names() else []
  print(f"\nmatmul peak (float32 GEMM, same run): {peak:.1f} GFLOP/s; "
        f"streaming memory bandwidth: {bandwidth:.1f} GB/s")
  print("\n| model | steps/s | examples/s | GFLOP/s | % of peak |\n|---|---|---|---|---|")
  for r in rows:
    print(f"| {r['model']} | {r['steps_per_s']:.1f} | {r['examples_per_s']:.0f} | "
          f"{r['gflops']:.1f} | {r['pct_peak']:.0f}% |")
  for r in rows:
    if "gemms_ms" in r:
      print(f"\n{r['model']}, ms per step: the step's 5 GEMMs alone {r['gemms_ms']:.1f}, "
            f"forward+backward {r['grad_ms']:.1f}, Adam step {r['step_ms']:.1f} "
            f"(GEMMs are {100 * r['gemms_ms'] / r['step_ms']:.0f}% of the step). One pass of "
            f"Adam over its 12.5M float32 weights (read params, m, v, grad; write params, "
            f"m, v: 350 MB) takes >= {350e-3 / bandwidth * 1e3:.1f} ms at the measured bandwidth.")
  if sampling:
    print("\n| NADE-500 sampling, 16 samples | naive s | cached s | speedup |\n|---|---|---|---|")
    for s in sampling:
      print(f"| D={s['D']} | {s['naive_s']:.3f} | {s['cached_s']:.4f} | {s['speedup']:.1f}x |")
  result = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "jax": jax.__version__, "backend": jax.default_backend()},
            "matmul_peak_gflops": peak, "memory_bandwidth_gbs": bandwidth, "train": rows, "nade_sampling": sampling}
  pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
  pathlib.Path(args.out).write_text(json.dumps(result, indent=2))
  print(f"\nwrote {args.out}")


if __name__ == "__main__":
  main()

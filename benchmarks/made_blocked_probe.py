"""Probe: would a degree-blocked first layer make MADE-8000's step cheaper here?

  python benchmarks/made_blocked_probe.py [--rounds 7] [--steps 5]

Times forward + backward (grad w.r.t. the kernel and the input) of MADE-8000's
first layer, f32, batch 100, `x @ (W * mask)` with the model's own degrees
(`made_pool_v0`, seed 0), three ways, alternating in one process (median of
rounds, process CPU time, so other jobs on a shared machine inflate all three
alike): the dense masked product the model runs; the blocked product with the
hidden units sorted by degree inside the computation (a constant column
permutation of W, then per block of 500 sorted units one GEMM over the prefix
of inputs that can reach it: about half the FLOPs); and the same blocked
product on a W that is already sorted (what it would cost without the
permutation: a lower bound). All three give the same values (checked).
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import masks

D, H, B, BLOCK = 784, 8000, 100, 500


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--rounds", type=int, default=7)
  ap.add_argument("--steps", type=int, default=5)
  a = ap.parse_args()
  orders, hidden = masks.made_pool_v0("natural", D, (H,), 1, seed=0)
  deg_in, deg_h = masks.input_degrees(orders[0]), hidden[0][0]
  mask = masks.hidden_mask(deg_in, deg_h)
  perm = np.argsort(deg_h, kind="stable")
  sorted_deg = deg_h[perm]
  blocks = []  # (col0, col1, rows that can reach any unit of the block)
  for c0 in range(0, H, BLOCK):
    c1 = min(H, c0 + BLOCK)
    blocks.append((c0, c1, int(np.sum(deg_in <= sorted_deg[c1 - 1]))))
  mask_sorted = jnp.asarray(mask[:, perm])
  inv = np.argsort(perm)
  w = jax.random.normal(jax.random.key(0), (D, H)) * 0.05
  x = (jax.random.uniform(jax.random.key(1), (B, D)) < 0.13).astype(jnp.float32)
  g = jax.random.normal(jax.random.key(2), (B, H))

  def dense(w, x):
    return x @ (w * jnp.asarray(mask, jnp.float32))

  def blocked_sorted(ws, x):
    outs = [x[:, :r] @ (ws[:r, c0:c1] * mask_sorted[:r, c0:c1]) for c0, c1, r in blocks]
    return jnp.concatenate(outs, axis=1)

  def blocked(w, x):
    return blocked_sorted(jnp.take(w, perm, axis=1), x)[:, inv]

  def vjp_of(f):
    return jax.jit(lambda w, x: jax.vjp(f, w, x)[1](g))

  fns = {"dense masked": (vjp_of(dense), w),
         "blocked, permuted in-graph": (vjp_of(blocked), w),
         "blocked, W pre-sorted (bound)": (vjp_of(blocked_sorted), w[:, perm])}
  ref = fns["dense masked"][0](w, x)
  got = fns["blocked, permuted in-graph"][0](w, x)
  np.testing.assert_allclose(np.asarray(got[0]), np.asarray(ref[0]), rtol=1e-4, atol=1e-4)
  times = {k: [] for k in fns}
  for k, (f, wk) in fns.items():
    jax.block_until_ready(f(wk, x))
  for _ in range(a.rounds):
    for k, (f, wk) in fns.items():
      t = time.process_time()
      for _ in range(a.steps):
        out = f(wk, x)
      jax.block_until_ready(out)
      times[k].append((time.process_time() - t) / a.steps)
  dense_flops = 4 * B * D * H
  blocked_flops = 4 * B * sum(r * (c1 - c0) for c0, c1, r in blocks)
  print(f"first layer of MADE-8000, fwd+bwd: dense {dense_flops / 1e9:.2f} GFLOP, "
        f"blocked {blocked_flops / 1e9:.2f} GFLOP (blocks of {BLOCK} units)")
  for k, v in times.items():
    print(f"  {k:32s} {statistics.median(v) * 1e3:8.2f} ms CPU")


if __name__ == "__main__":
  main()

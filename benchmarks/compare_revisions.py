r"""Train-step time of two git revisions of ar_jax, measured back to back.

A shared machine drifts by 10-20% between runs, so a refactor's speed is
judged by alternating the two revisions in one invocation: each round runs
one subprocess per revision (old, new, then new, old, ...), each times a
jitted, donated Adam step (batch 100, warm-up excluded) of every model, and
the table gives the median over rounds and the new/old ratio.

  python benchmarks/compare_revisions.py --old 91badaf [--new WORKTREE] [--rounds 5]

`--old` is any git revision (exported with `git archive`, never checked out
here); `--new` defaults to this working tree. Writes JSON next to the other
results (`benchmarks/results/compare_revisions.json` by default).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (label, registry name, hparams, timed steps per round)
CASES = [
    ("MADE 784-500-784, direct", "made", dict(hidden_sizes=(500,), direct=True), 60),
    ("MADE 784-500-500-784", "made", dict(hidden_sizes=(500, 500)), 60),
    ("MADE 784-8000-784", "made", dict(hidden_sizes=(8000,)), 20),
    ("NADE-500", "nade", dict(hidden_size=500), 20),
]

_WORKER = r"""
import functools, json, sys, time
import jax, jax.numpy as jnp, optax
from ar_jax import models
label, name, hp, n = json.loads(sys.argv[1])
m = models.get(name, input_shape=(784,), **hp)
x = (jax.random.uniform(jax.random.key(0), (100, 784)) < 0.3).astype(jnp.int32)
params = m.init(jax.random.key(1), x)["params"]
tx = optax.adam(1e-3)

@functools.partial(jax.jit, donate_argnums=0)
def step(state, x):
  p, o = state
  loss_fn = lambda p: -m.apply({"params": p}, x, jax.random.key(0),
                               method="train_log_prob").mean()
  loss, g = jax.value_and_grad(loss_fn)(p)
  u, o = tx.update(g, o, p)
  return (optax.apply_updates(p, u), o), loss

state = (params, tx.init(params))
for _ in range(2):  # compile and warm up
  state, loss = step(state, x)
loss.block_until_ready()
t = time.perf_counter()
for _ in range(n):
  state, loss = step(state, x)
loss.block_until_ready()
print(json.dumps((time.perf_counter() - t) / n))
"""


def _time(tree, case):
  env = dict(os.environ, PYTHONPATH=str(tree), JAX_PLATFORMS="cpu")
  out = subprocess.run([sys.executable, "-c", _WORKER, json.dumps(case)], env=env,
                       capture_output=True, text=True, check=True, cwd=tree)
  return json.loads(out.stdout.strip().splitlines()[-1])


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--old", required=True, help="git revision to compare against")
  ap.add_argument("--new", default=str(ROOT), help="source tree (default: this one)")
  ap.add_argument("--rounds", type=int, default=5)
  ap.add_argument("--quick", action="store_true", help="smoke run: tiny step counts")
  ap.add_argument("--out", default=str(ROOT / "benchmarks/results/compare_revisions.json"))
  a = ap.parse_args()
  with tempfile.TemporaryDirectory() as tmp:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", a.old, "ar_jax"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
    trees = {"old": tmp, "new": a.new}
    results = {}
    for label, name, hp, n in CASES:
      case = (label, name, hp, 1 if a.quick else n)
      times = {"old": [], "new": []}
      for r in range(a.rounds):
        for which in ("old", "new") if r % 2 == 0 else ("new", "old"):
          times[which].append(_time(trees[which], case))
      old, new = statistics.median(times["old"]), statistics.median(times["new"])
      results[label] = dict(old_ms=1e3 * old, new_ms=1e3 * new, new_over_old=new / old,
                            rounds=a.rounds, steps_per_round=case[3])
  print(f"| model | {a.old} ms/step | new ms/step | new / old |\n|---|---|---|---|")
  for label, r in results.items():
    print(f"| {label} | {r['old_ms']:.2f} | {r['new_ms']:.2f} | {r['new_over_old']:.3f} |")
  pathlib.Path(a.out).write_text(json.dumps(dict(old=a.old, cases=results), indent=1) + "\n")
  print("wrote", a.out)


if __name__ == "__main__":
  main()

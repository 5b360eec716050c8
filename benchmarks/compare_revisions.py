r"""Train-step time of two git revisions of ar_jax, measured back to back.

A shared machine drifts by 10-20% between runs, so a refactor's speed is
judged by alternating the two revisions in one invocation: each round runs
one subprocess per revision (old, new, then new, old, ...), each times a
jitted, donated Adam step (batch 100, `timing.train_step_seconds`) of every
case, and the table gives the median over rounds and the new/old ratio.

  python -m benchmarks.compare_revisions --old 91badaf [--new TREE] [--rounds 5]

`--old` is any git revision (its `ar_jax/` exported with `git archive`, never
checked out here); `--new` is a source tree whose `ar_jax/` is timed (default:
this one). The timer is always this tree's `benchmarks.timing`. JSON:
`benchmarks/results/compare_revisions.json`.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

from benchmarks import timing

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (label, registry name, hparams, timed seconds per window)
CASES = [
    ("MADE 784-500-784, direct", "made", dict(hidden_sizes=(500,), direct=True), 0.5),
    ("MADE 784-500-500-784", "made", dict(hidden_sizes=(500, 500)), 0.5),
    ("MADE 784-8000-784", "made", dict(hidden_sizes=(8000,)), 2.0),
    ("NADE-500", "nade", dict(hidden_size=500), 2.0),
]


def worker(case):
  """Seconds per train step of `case` with the `ar_jax` this process imports."""
  import jax  # pylint: disable=import-outside-toplevel
  from ar_jax import models  # pylint: disable=import-outside-toplevel
  _, name, hparams, min_time = case
  model = models.get(name, input_shape=(784,), **hparams)
  x = (jax.random.uniform(jax.random.key(0), (100, 784)) < 0.3).astype("int32")
  return timing.train_step_seconds(model, x, repeats=3, min_time=min_time)


def time_case(tree, case):
  """Runs `worker(case)` in a subprocess importing `ar_jax` from `tree`, on the CPU.

  `-P` keeps the working directory off `sys.path`, so `ar_jax` comes from
  `tree` and `benchmarks` from this repository (PYTHONPATH order).
  """
  env = dict(os.environ, PYTHONPATH=os.pathsep.join((str(tree), str(ROOT))),
             JAX_PLATFORMS="cpu")
  out = subprocess.run(
      [sys.executable, "-P", "-m", "benchmarks.compare_revisions", "--worker", json.dumps(case)],
      env=env, capture_output=True, text=True, check=True, cwd=tree)
  return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--old", help="git revision to compare against")
  ap.add_argument("--new", default=str(ROOT), help="source tree (default: this one)")
  ap.add_argument("--rounds", type=int, default=5)
  ap.add_argument("--quick", action="store_true", help="smoke run: tiny models and windows")
  ap.add_argument("--out")
  ap.add_argument("--worker", help=argparse.SUPPRESS)
  a = ap.parse_args(argv)
  if a.worker:
    print(json.dumps(worker(json.loads(a.worker))))
    return None
  if not a.old:
    ap.error("--old REVISION is required (e.g. --old HEAD~1)")
  cases = ([("MADE 16-8-16", "made", dict(hidden_sizes=(8,)), 0.0)] if a.quick else CASES)
  peak = timing.matmul_peak(((64, 64, 64),)) if a.quick else timing.matmul_peak()
  results = {}
  with tempfile.TemporaryDirectory() as tmp:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", a.old, "ar_jax"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
    trees = {"old": tmp, "new": a.new}
    for case in cases:
      times = {"old": [], "new": []}
      for r in range(a.rounds):
        for which in ("old", "new") if r % 2 == 0 else ("new", "old"):
          times[which].append(time_case(trees[which], case))
      old, new = statistics.median(times["old"]), statistics.median(times["new"])
      results[case[0]] = dict(old_ms=1e3 * old, new_ms=1e3 * new, new_over_old=new / old,
                              rounds=a.rounds)
  print(f"| model | {a.old} ms/step | new ms/step | new / old |\n|---|---|---|---|")
  for label, r in results.items():
    print(f"| {label} | {r['old_ms']:.2f} | {r['new_ms']:.2f} | {r['new_over_old']:.3f} |")
  timing.write_record(a.out or timing.default_out("compare_revisions", a.quick),
                      {"old": a.old, "cases": results}, matmul_peak_gflops=peak, quick=a.quick)
  return results


if __name__ == "__main__":
  main()

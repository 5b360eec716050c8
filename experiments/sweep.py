r"""Runs a config under every combination of override values, one run directory each.

  python experiments/sweep.py --config experiments/configs/made_mnist.py:cpu \
      --set optim.lr=1e-3,3e-3 --set model.hparams.hidden_sizes=(500,),(1000,) \
      --workdir runs/sweep_made
  # one share of the runs per host (run k goes to host k mod n):
  python experiments/sweep.py ... --host_index 0 --num_hosts 2

Each `--set KEY=V1,V2,...` lists the values of one key (commas inside
brackets or parentheses belong to the value); the runs are the product of
the lists, each on top of the `--base KEY=VALUE` overrides (values taken
whole, e.g. a synthetic dataset name with commas), trained one after another in
`<workdir>/<key>=<value>,...`. A run whose `results.json` exists is not
re-run, and an interrupted one resumes. At the end a markdown summary is
printed and written to `<workdir>/summary.md` (this host's share): the
overrides, the final test NLL, the best validation NLL, steps and wall time.
"""

import argparse
import itertools
import json
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
# pylint: disable=wrong-import-position
from overrides import apply_overrides
from overrides import load_config
from overrides import split_override


def split_values(text):
  """"1,(2, 3),x" -> ["1", "(2, 3)", "x"]: commas at bracket depth 0 separate values."""
  values, depth, cur = [], 0, ""
  for ch in text:
    depth += ch in "([{"
    depth -= ch in ")]}"
    if ch == "," and depth == 0:
      values.append(cur.strip())
      cur = ""
    else:
      cur += ch
  values.append(cur.strip())
  return values


def combinations(sets):
  """The list of override lists ["k=v", ...], one per combination of the --set values."""
  axes = []
  for item in sets:
    key, text = split_override(item)
    axes.append([f"{key}={v}" for v in split_values(text)])
  return [list(c) for c in itertools.product(*axes)]


def run_name(overrides):
  """A directory name for a combination: its overrides, filesystem-safe."""
  name = ",".join(overrides) or "base"
  return re.sub(r"[^\w.=,+-]", "_", name)


def summary(rows):
  """Markdown table of (overrides, results) pairs."""
  out = ["| overrides | test NLL | best validation NLL | steps | wall time |",
         "|---|---|---|---|---|"]
  for overrides, r in rows:
    out.append(f"| {' '.join(f'`{o}`' for o in overrides) or '(base)'} | "
               f"{r['test_nll']:.4f} | {r['best_validation_nll']:.4f} | {r['steps']:,} | "
               f"{r['wall_time_s'] / 60:.1f} min |")
  return "\n".join(out) + "\n"


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", required=True, help="config file, optionally with :ARG")
  parser.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2,...",
                      help="a key and its values (repeatable; the runs are the product)")
  parser.add_argument("--base", action="append", default=[], metavar="KEY=VALUE",
                      help="an override of every run, its value taken whole (repeatable)")
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--host_index", type=int, default=0)
  parser.add_argument("--num_hosts", type=int, default=1)
  args = parser.parse_args(argv)
  if not 0 <= args.host_index < args.num_hosts:
    parser.error(f"--host_index {args.host_index} must be in 0..{args.num_hosts - 1} "
                 f"(--num_hosts {args.num_hosts})")
  path, _, arg = args.config.partition(":")
  combos = combinations(args.set)
  for overrides in combos:  # Every combination fails now, not after hours of runs.
    apply_overrides(load_config(path, arg), args.base + overrides)
  mine = combos[args.host_index::args.num_hosts]
  from ar_jax import train  # pylint: disable=import-outside-toplevel  (jax is slow to import)
  rows = []
  for i, overrides in enumerate(mine):
    wd = pathlib.Path(args.workdir) / run_name(overrides)
    print(f"== run {i + 1}/{len(mine)} of host {args.host_index}: {' '.join(overrides)} "
          f"in {wd}", flush=True)
    results_path = wd / "results.json"
    if results_path.exists():
      res = json.loads(results_path.read_text())
    else:
      wd.mkdir(parents=True, exist_ok=True)
      config = apply_overrides(load_config(path, arg), args.base + overrides)
      res = train.train_and_evaluate(config, str(wd))
      if res.get("preempted"):
        raise SystemExit(f"{wd}: stopped by a signal; run the same command again to resume")
    rows.append((overrides, res))
  text = summary(rows)
  out = pathlib.Path(args.workdir) / (
      "summary.md" if args.num_hosts == 1 else f"summary_host{args.host_index}.md")
  out.write_text(text)
  print(text)
  return rows


if __name__ == "__main__":
  main()

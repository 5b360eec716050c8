r"""Runs the rows of a paper table and prints a markdown table: paper vs ours.

  python experiments/reproduce.py binarized_mnist --rows=fvsbn,nade,made_1mask \
      --seeds=0 --max_epochs=200 --workdir=runs/reproduce

Each (row, seed) trains its config (`experiments/configs/<file>.py`, the full
paper architecture) in `<workdir>/<row>/seed<k>` with early stopping on the
validation NLL; `--max_epochs` caps the budget and is printed in the table.
A row whose run directory already holds `results.json` is not re-run, so the
table can be re-rendered (`--render_only`) and runs can be spread over several
sessions; an interrupted run resumes from its checkpoint. Paper values come
from the citations table (`experiments/PAPER_NUMBERS.md`) through each row's
citation id (`experiments/tables.py`). Afterwards `experiments/RESULTS.md` is
regenerated from the committed run records (`make_results.py`); copy a run's
`results.json` into `experiments/results/` (with the record fields) to add it.
"""

import argparse
import json
import math
import os
import pathlib
import platform
import statistics

import make_results  # experiments/ is on sys.path when run as a script
from tables import TABLES

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_config(name, variant=""):
  from ar_jax import configs  # pylint: disable=import-outside-toplevel
  return configs.load(ROOT / "experiments" / "configs" / name, variant or None)


def apply_overrides(config, overrides):
  """`key.path=value` strings onto a config; the value takes the old value's type."""
  for item in overrides:
    key, sep, value = item.partition("=")
    if not sep:
      raise ValueError(f"--set expects key=value, got {item!r}")
    *parents, leaf = key.split(".")
    node = config
    for p in parents:
      node = node[p]
    if leaf not in node:
      raise KeyError(f"--set: unknown config key {key!r}")
    old = node[leaf]
    node[leaf] = type(old)(value) if not isinstance(old, bool) else value.lower() in ("1", "true")


def run_row(row, seed, workdir, max_epochs, variant, overrides=()):
  """Trains one (row, seed) unless its results.json exists; returns the results."""
  results_path = workdir / "results.json"
  if results_path.exists():
    return json.loads(results_path.read_text())
  from ar_jax import data  # pylint: disable=import-outside-toplevel
  from ar_jax import train  # pylint: disable=import-outside-toplevel
  config = load_config(row.config, variant)
  config.seed = seed
  apply_overrides(config, overrides)
  if max_epochs:
    n_train = data.DATASETS[config.data.name].splits[config.data.train_split]
    steps_per_epoch = n_train // config.train.batch_size
    config.train.num_steps = min(config.train.num_steps, max_epochs * steps_per_epoch)
  workdir.mkdir(parents=True, exist_ok=True)
  return train.train_and_evaluate(config, str(workdir))


def _fmt(values):
  if not values:
    return "not run"
  if len(values) == 1:
    return f"{values[0]:.2f}"
  return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} (n={len(values)})"


def render(table, rows, runs, budget_note, citations):
  lines = ["| model | paper | ours | epochs | wall time | hardware | binarization |",
           "|---|---|---|---|---|---|---|"]
  for row in rows:
    res = runs.get(row.key, [])
    key = "test_nll" if make_results.GROUPS[table][2] == "nats" else "test_bpd"
    nll = [r[key] for r in res]
    epochs = "/".join(f"{r['epochs']:.0f}{' (early stop)' if r['stopped_early'] else ''}" for r in res) or "-"
    wall = "/".join(f"{r['wall_time_s'] / 60:.0f} min" + (
        f" (last segment; resumed at step {r['resumed_from_step']})"
        if r.get("resumed_from_step") else "") for r in res) or "-"
    hw = ", ".join(sorted({f"{r['device_count']}x {r['device_kind']}" for r in res})) or "-"
    binz = ", ".join(sorted({r["config"]["data"]["binarization"] for r in res})) or "-"
    lines.append(f"| {row.label} | {make_results.fmt_paper(row.paper_id, citations)} | "
                 f"{_fmt(nll)} | {epochs} | {wall} | {hw} | {binz} |")
  head = (f"### {table}: {make_results.GROUPS[table][1]}\n\n"
          f"Budget: {budget_note}. Machine: {platform.machine()}, {os.cpu_count()} CPU cores.\n")
  return head + "\n" + "\n".join(lines) + "\n"


def publish(md, out):
  """Writes the markdown table `md` to `out` (creating its folder) and prints it."""
  out = pathlib.Path(out)
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(md)
  print(md)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("table", choices=sorted(TABLES))
  parser.add_argument("--rows", default="", help="comma-separated row keys (default: all)")
  parser.add_argument("--seeds", default="0", help="comma-separated seeds")
  parser.add_argument("--max_epochs", type=int, default=0, help="cap per run (0: config's)")
  parser.add_argument("--variant", default="", help="config variant, e.g. 'cpu'")
  parser.add_argument("--workdir", default="runs/reproduce")
  parser.add_argument("--out", default="", help="markdown output (default: <workdir>/<table>.md)")
  parser.add_argument("--render_only", action="store_true", help="only collect existing results")
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="config override, e.g. --set eval.every_steps=2500 (repeatable)")
  args = parser.parse_args()

  rows = TABLES[args.table]
  if args.rows:
    known = {r.key: r for r in rows}
    unknown = [k for k in args.rows.split(",") if k not in known]
    if unknown:
      parser.error(f"unknown --rows {unknown}; table {args.table} has {sorted(known)}")
    rows = [known[k] for k in args.rows.split(",")]
  seeds = [int(s) for s in args.seeds.split(",")]
  runs = {}
  for row in rows:
    for seed in seeds:
      wd = pathlib.Path(args.workdir) / args.table / row.key / f"seed{seed}"
      if args.render_only and not (wd / "results.json").exists():
        continue
      runs.setdefault(row.key, []).append(
          run_row(row, seed, wd, args.max_epochs, args.variant, args.set))
  budget = (f"at most {args.max_epochs} epochs per run" if args.max_epochs else
            "the configs' step limits") + ", early stopping on validation NLL"
  if args.variant:
    budget += f", config variant '{args.variant}'"
  if args.set:
    budget += ", overrides " + " ".join(args.set)
  _, citations = make_results.load_citations()
  publish(render(args.table, rows, runs, budget, citations),
          args.out or pathlib.Path(args.workdir) / f"{args.table}.md")
  make_results.main([])
  if any(math.isnan(r["test_nll"]) for rs in runs.values() for r in rs):
    raise SystemExit("a run produced a NaN test NLL")


if __name__ == "__main__":
  main()

r"""Runs the rows of a results table under a budget and collects them into the records.

  python experiments/reproduce.py --table binarized_mnist --budget cpu --seeds 3
  python experiments/reproduce.py --table all --budget smoke --workdir /tmp/smoke
  python experiments/reproduce.py --table uci --budget full --rows boston

Tables and rows: `experiments/tables.py`; budgets (`smoke`, `cpu`, `full`):
`experiments/budgets.py`. Each run trains in
`<workdir>/<budget>/<table>/<row>/seed<k>` (a UCI row: `.../seed<k>/fold<f>`);
a run whose `results.json` exists is not re-run, and an interrupted one
resumes from its checkpoint, so a table can be spread over sessions.

The runs of a row become one run record, `<table>/<row>.json` (full) or
`<table>/<row>_<budget>.json`, with its first seed's samples and curves
beside it and, with several seeds, the mean ± standard deviation over them.
`cpu` and `full` records go to `experiments/results/` and
`experiments/RESULTS.md` is regenerated (`make_results.py`); `smoke` records
never touch the committed ones: they go to `<workdir>/smoke/results/`, and
`<workdir>/smoke/RESULTS.md` renders them. Each table also gets
`curves_<budget>.png`: every row's first run in one plot. A row without a
record says "not run" in RESULTS.md, never a copied paper value.

The older positional form `reproduce.py TABLE [--rows ...]` still works (budget
`full`).
"""

import argparse
import datetime
import json
import math
import os
import pathlib
import platform
import shutil
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
# pylint: disable=wrong-import-position
import budgets
import make_results
from tables import TABLES

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_one(config, workdir):
  """Trains `config` in `workdir` unless its results.json exists; returns the results."""
  results_path = workdir / "results.json"
  if results_path.exists():
    return json.loads(results_path.read_text())
  from ar_jax import train  # pylint: disable=import-outside-toplevel  (jax is slow to import)
  workdir.mkdir(parents=True, exist_ok=True)
  out = train.train_and_evaluate(config, str(workdir))
  if out.get("preempted"):
    raise SystemExit(f"{workdir}: stopped by a signal at step {out['step']}; run the same "
                     "command again to resume")
  return out


def _cap_epochs(config, max_epochs):
  if not max_epochs:
    return
  from ar_jax.data import pipeline  # pylint: disable=import-outside-toplevel
  from ar_jax.data import reading  # pylint: disable=import-outside-toplevel
  n = len(pipeline.load_split(config.data, config.data.train_split)["x"]) if (
      "+" in config.data.train_split or "[" in config.data.train_split) else (
          reading.get_spec(config.data.name).splits[config.data.train_split])
  per_epoch = max(1, n // config.train.batch_size)
  config.train.num_steps = min(config.train.num_steps, max_epochs * per_epoch)


def run_row(table, row, args, seeds):
  """Trains every (seed, fold) of `row`; returns [(seed, fold, workdir, results, note)]."""
  runs = []
  for seed in seeds:
    for fold in range(row.folds if args.budget != "smoke" else min(row.folds, 1)) or [None]:
      wd = pathlib.Path(args.workdir) / args.budget / table / row.key / f"seed{seed}"
      if fold is not None:
        wd = wd / f"fold{fold}"
      config, note = budgets.row_config(row, args.budget, seed=seed, fold=fold or 0,
                                        overrides=args.set, data=args.data)
      _cap_epochs(config, args.max_epochs)
      if args.render_only and not (wd / "results.json").exists():
        continue
      print(f"== {table}/{row.key} seed {seed}" + ("" if fold is None else f" fold {fold}")
            + f" ({args.budget}) in {wd}", flush=True)
      runs.append((seed, fold, wd, run_one(config, wd), note))
  return runs


def _data_variant(cfg, note):
  if note:
    return note
  d = cfg["data"]
  text = {"fixed": "fixed binarization", "dynamic": "dynamic binarization",
          "threshold": "thresholded", "none": d["name"]}[d["binarization"]]
  text += f", train {d['train_split']}, eval {d['eval_split']}, test {d['test_split']}"
  if cfg["eval"].get("test_draws", 1) > 1:
    text += f", test NLL the mean over {cfg['eval']['test_draws']} draws"
  return text


def make_record(table, row, args, runs):
  """The run record (make_results.py's fields) of a row's runs."""
  first = runs[0][3]
  cfg = first["config"]
  budget = args.budget
  rec = dict(
      table=table, label=row.label + ("" if budget == "full" else f" (:{budget} budget)"),
      model=cfg["model"]["name"], config_path=f"experiments/configs/{row.config_file}",
      config_variant=row.variant(budget) or None, data_variant=_data_variant(cfg, runs[0][4]),
      paper_id=row.paper_id, budget=budget, overrides=list(args.set),
      seeds=sorted({s for s, *_ in runs}),
      date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
      device_kind=first["device_kind"], device_count=first["device_count"],
      host=(f"{platform.machine()}, {os.cpu_count()} CPU cores, 1-min load average "
            f"{os.getloadavg()[0]:.1f} at the end"),
      command=" ".join(["python", "experiments/reproduce.py", "--table", table, "--budget",
                        budget, "--rows", row.key, "--seeds", str(len(args.seed_list))]
                       + [f"--set {o}" for o in args.set]))
  if row.folds:
    rec["folds"] = [dict(fold=f, seed=s, test_ll=-r["test_nll"],
                         best_validation_ll=-r["best_validation_nll"], best_step=r["best_step"],
                         steps=r["steps"], wall_time_s=r["wall_time_s"])
                    for s, f, _, r, _ in runs]
    return rec
  for key in ("steps", "epochs", "stopped_early", "best_step", "best_validation_nll",
              "test_examples", "test_params", "resumed_from_step", "wall_time_s",
              "train_time_s"):
    rec[key] = first.get(key)
  for key in ("test_nll", "test_bpd"):
    values = [r[key] for _, _, _, r, _ in runs]
    rec[key] = statistics.mean(values)
    if len(values) > 1:
      rec[f"{key}_std"] = statistics.stdev(values)
  if len(runs) > 1:
    rec["per_seed"] = [dict(seed=s, test_nll=r["test_nll"], test_bpd=r["test_bpd"],
                            steps=r["steps"], wall_time_s=r["wall_time_s"])
                       for s, _, _, r, _ in runs]
  return rec


def save_record(records_dir, table, row, budget, rec, runs):
  """Writes the record (and its first run's samples and curves) under `records_dir`."""
  stem = row.key if budget == "full" else f"{row.key}_{budget}"
  out = records_dir / table
  out.mkdir(parents=True, exist_ok=True)
  for name in ("samples", "curves"):
    src = runs[0][2] / f"{name}.png"
    if src.exists():
      shutil.copyfile(src, out / f"{stem}_{name}.png")
      rec[name] = f"{stem}_{name}.png"
  (out / f"{stem}.json").write_text(json.dumps(rec, indent=2, sort_keys=True) + "\n")
  return f"{table}/{stem}.json"


def table_curves(records_dir, table, budget, row_runs):
  from ar_jax import plots  # pylint: disable=import-outside-toplevel
  dirs = [str(runs[0][2]) for _, runs in row_runs if runs]
  labels = [row.label for row, runs in row_runs if runs]
  if dirs:
    plots.plot_table_curves(dirs, str(records_dir / table / f"curves_{budget}.png"), labels)


def parse_args(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  choices = sorted(TABLES) + ["all"]
  parser.add_argument("table_pos", nargs="?", metavar="TABLE", help=argparse.SUPPRESS)
  parser.add_argument("--table", help=f"one of {choices}")
  parser.add_argument("--budget", default="full", choices=budgets.BUDGETS)
  parser.add_argument("--seeds", default="1",
                      help="number of seeds (0..N-1), or a comma-separated list like '0,3'")
  parser.add_argument("--rows", default="", help="comma-separated row keys (default: all)")
  parser.add_argument("--workdir", default="runs/reproduce")
  parser.add_argument("--data", default="auto", choices=("auto", "standin"),
                      help="smoke: real data where prepared (auto) or always the stand-in")
  parser.add_argument("--max_epochs", type=int, default=0, help="cap per run (0: config's)")
  parser.add_argument("--render_only", action="store_true", help="only collect existing runs")
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="config override, e.g. --set eval.every_steps=2500 (repeatable)")
  args = parser.parse_args(argv)
  table = args.table or args.table_pos
  if table is None:
    parser.error(f"--table is required: one of {choices}")
  if table not in choices:
    parser.error(f"unknown --table {table!r}; expected one of {choices}")
  args.tables = sorted(TABLES) if table == "all" else [table]
  args.seed_list = (list(range(int(args.seeds))) if "," not in args.seeds
                    else [int(s) for s in args.seeds.split(",")])
  if not args.seed_list:
    parser.error(f"--seeds {args.seeds!r} names no seed; expected N >= 1 or a list like '0,1'")
  known = {row.key for t in args.tables for row in TABLES[t]}
  wanted = [k for k in args.rows.split(",") if k]
  unknown = [k for k in wanted if k not in known]
  if unknown:
    parser.error(f"unknown --rows {unknown}; table {table} has rows {sorted(known)}")
  args.row_keys = set(wanted or known)
  return args


def main(argv=None):
  args = parse_args(argv)
  smoke = args.budget == "smoke"
  out_root = pathlib.Path(args.workdir) / "smoke" if smoke else ROOT / "experiments"
  records_dir = out_root / "results"
  records = {}
  for table in args.tables:
    row_runs = []
    for row in TABLES[table]:
      if row.key not in args.row_keys:
        continue
      runs = run_row(table, row, args, args.seed_list)
      row_runs.append((row, runs))
      if runs:
        rec = make_record(table, row, args, runs)
        records[save_record(records_dir, table, row, args.budget, rec, runs)] = rec
    table_curves(records_dir, table, args.budget, row_runs)
  if smoke:
    _, citations = make_results.load_citations()
    text = make_results.render_results(records, citations)
    (out_root / "RESULTS.md").write_text(text)
    print(f"wrote {out_root / 'RESULTS.md'} ({len(records)} records)")
  else:
    make_results.main([])
  bad = [rel for rel, r in records.items() if not all(math.isfinite(v) for v in (
      [f["test_ll"] for f in r["folds"]] if "folds" in r else [r["test_nll"]]))]
  if bad:
    raise SystemExit(f"non-finite test NLL in {bad}")
  return records


if __name__ == "__main__":
  main()

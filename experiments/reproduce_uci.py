r"""Trains RNADE on all 10 folds of a UCI set and prints paper vs ours.

  python -m ar_jax.data.prepare ionosphere
  python experiments/reproduce_uci.py ionosphere --workdir=runs/reproduce_uci
  python experiments/reproduce_uci.py boston --variant=cpu --folds=0,1

Fold k trains `experiments/configs/rnade_<name>.py` with its splits set to
`fold{k}_train` / `fold{k}_validation` (early stopping) / `fold{k}_test`, in
`<workdir>/<name>/fold<k>`; a fold whose results.json exists is not re-run.
The table gives the mean test log-likelihood per example in nats over the
folds (higher is better; the negative of the trainer's test NLL) with its
standard error (sample std / sqrt(folds)), next to the paper's number from the
citations table (`experiments/PAPER_NUMBERS.md`, id in `experiments/tables.py`).
Afterwards `experiments/RESULTS.md` is regenerated from the committed records.
"""

import argparse
import json
import math
import pathlib
import statistics

import make_results  # experiments/ is on sys.path when run as a script
from reproduce import apply_overrides
from reproduce import load_config
from reproduce import publish
from tables import UCI

NUM_FOLDS = 10


def run_fold(name, k, workdir, variant, overrides):
  """Trains fold k unless its results.json exists; returns the results dict."""
  results_path = workdir / "results.json"
  if results_path.exists():
    return json.loads(results_path.read_text())
  from ar_jax import train  # pylint: disable=import-outside-toplevel
  config = load_config(f"rnade_{name}.py", variant)
  config.data.train_split = f"fold{k}_train"
  config.data.eval_split = f"fold{k}_validation"
  config.data.test_split = f"fold{k}_test"
  apply_overrides(config, overrides)
  workdir.mkdir(parents=True, exist_ok=True)
  return train.train_and_evaluate(config, str(workdir))


def summarize(test_ll):
  """(mean, standard error) of per-fold test log-likelihoods."""
  mean = statistics.mean(test_ll)
  se = statistics.stdev(test_ll) / math.sqrt(len(test_ll)) if len(test_ll) > 1 else math.nan
  return mean, se


def render(name, folds, test_ll, budget, citations):
  mean, se = summarize(test_ll)
  per_fold = ", ".join(f"{k}: {v:.2f}" for k, v in zip(folds, test_ll))
  return (f"### RNADE on UCI {name}: test log-likelihood per example (nats, higher is better)\n\n"
          f"| data set | paper | ours, mean ± s.e. over {len(folds)} folds | per fold | budget |\n"
          f"|---|---|---|---|---|\n"
          f"| {name} | {make_results.fmt_paper(UCI[name], citations)} | {mean:.2f} ± {se:.2f} | "
          f"{per_fold} | {budget} |\n")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("name", choices=sorted(UCI))
  parser.add_argument("--folds", default=",".join(map(str, range(NUM_FOLDS))),
                      help="comma-separated fold indices (default: all 10)")
  parser.add_argument("--variant", default="", help="config variant, e.g. 'cpu'")
  parser.add_argument("--workdir", default="runs/reproduce_uci")
  parser.add_argument("--out", default="", help="markdown output (default: <workdir>/<name>.md)")
  parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="config override, e.g. --set model.hparams.hidden_size=100")
  args = parser.parse_args()
  folds = [int(k) for k in args.folds.split(",")]
  bad = [k for k in folds if not 0 <= k < NUM_FOLDS]
  if bad:
    parser.error(f"--folds {bad} out of range 0..{NUM_FOLDS - 1}")

  test_ll = []
  for k in folds:
    res = run_fold(args.name, k, pathlib.Path(args.workdir) / args.name / f"fold{k}",
                   args.variant, args.set)
    test_ll.append(-res["test_nll"])
  budget = f"config {'variant ' + args.variant if args.variant else 'as is'}"
  if args.set:
    budget += ", overrides " + " ".join(args.set)
  _, citations = make_results.load_citations()
  publish(render(args.name, folds, test_ll, budget, citations),
          args.out or pathlib.Path(args.workdir) / f"{args.name}.md")
  make_results.main([])
  if any(math.isnan(v) for v in test_ll):
    raise SystemExit("a fold produced a NaN test log-likelihood")


if __name__ == "__main__":
  main()

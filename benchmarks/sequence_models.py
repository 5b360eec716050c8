"""Speed of the sequence models: training and naive vs cached sampling, per family.

  python benchmarks/sequence_models.py [--family text|audio|all] [--quick] [--out PATH]

Each family is a module next to this one (`sequence_text.py`,
`sequence_audio.py`) exposing `COLUMNS` and `rows(quick) -> list[dict]`; a
family whose module is not there yet is skipped. Prints one markdown table
per family and writes JSON (default `benchmarks/results/sequence_models.json`,
`sequence_models_quick.json` with --quick). Timings on a shared machine are
noisy: compare rows of one run, not across runs.
"""

import argparse
import importlib
import importlib.util
import json
import os
import pathlib
import platform
import sys

import jax

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
FAMILIES = ("text", "audio")


def _fmt(v):
  if v is None:
    return "-"
  if isinstance(v, float):
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"
  return str(v)


def table(columns, rows):
  """Markdown table of `rows` (dicts) in `columns` order."""
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
  return "\n".join(lines)


def run(families, quick):
  """{family: {"columns", "rows"}} for every family whose module exists."""
  out = {}
  for family in families:
    name = f"sequence_{family}"
    if importlib.util.find_spec(name) is None:
      print(f"({family}: {name}.py not present, skipped)")
      continue
    module = importlib.import_module(name)
    out[family] = {"columns": list(module.COLUMNS), "rows": module.rows(quick)}
  return out


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--family", choices=(*FAMILIES, "all"), default="all")
  parser.add_argument("--quick", action="store_true", help="tiny models, one short T")
  parser.add_argument("--out", default=None)
  args = parser.parse_args(argv)
  families = FAMILIES if args.family == "all" else (args.family,)
  results = run(families, args.quick)
  for family, res in results.items():
    print(f"\n{family}\n\n{table(res['columns'], res['rows'])}")
  out = args.out or str(HERE / "results" / (
      "sequence_models_quick.json" if args.quick else "sequence_models.json"))
  doc = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                     "jax": jax.__version__, "backend": jax.default_backend()},
         "quick": args.quick, "families": results}
  pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
  pathlib.Path(out).write_text(json.dumps(doc, indent=2))
  print(f"\nwrote {out}")
  return results


if __name__ == "__main__":
  main()

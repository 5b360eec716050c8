r"""Writes experiments/RESULTS.md from the run records and the citations table.

  python experiments/make_results.py           # rewrite RESULTS.md and README blocks
  python experiments/make_results.py --check   # exit 1 if any of them is stale

Inputs: every `experiments/results/**/*.json` (a run record names its `table`;
a file with `attachment_of` belongs to another record) and the two tables of
`experiments/PAPER_NUMBERS.md`. A paper value is printed only from the
citations table, through the record's `paper_id`. README.md's blocks between
`<!-- generated:models -->` / `<!-- /generated:models -->` and
`<!-- generated:headline -->` / `<!-- /generated:headline -->` and
`<!-- generated:completion -->` (from `experiments/completion.py`'s JSON files,
attachments of an lmconv run) are rewritten when the markers are present. The output depends only on the inputs.
"""

import argparse
import json
import math
import pathlib
import posixpath
import re
import statistics
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
import tables  # pylint: disable=wrong-import-position

from records import (  # pylint: disable=wrong-import-position  (RESULTS_DIR: re-exported)
    GROUPS, RESULTS_DIR, ResultsError, check_ids, load_citations, load_records)

FOR_SCALE = {"shakespeare_char": ["nanogpt-shakespeare-char-baby", "nanogpt-shakespeare-char-cpu"]}
# Registered model -> paper key, for the README's model list.
MODEL_PAPERS = {
    "fvsbn": "frey1998", "nade": "larochelle2011", "rnade": "uria2013", "made": "germain2015",
    "deepnade": "uria2014", "char_rnn": "graves2013", "wavenet": "vdoord2016c",
    "pixelcnn_pp": "salimans2017", "transformer": "vaswani2017", "pixelcnn": "vdoord2016a",
    "gated_pixelcnn": "vdoord2016b", "row_lstm": "vdoord2016a", "diagonal_bilstm": "vdoord2016a",
    "pixelsnail": "chen2017", "lmconv": "jain2020",
}
# Records shown in README's headline table, in this order.
HEADLINE = [
    "binarized_mnist/nade.json", "binarized_mnist/made_8000_1mask.json",
    "binarized_mnist/made_32masks.json", "binarized_mnist/gated_pixelcnn_cpu_3k.json",
    "binarized_mnist/made_class_cond_cpu.json", "uci/boston.json",
    "shakespeare_char/char_lstm_cpu.json", "wavenet/uncond/results.json",
    "mnist_8bit/pixelcnn_cpu.json",
]


def _get(rec, key):
  for part in key.split("."):
    rec = rec.get(part) if isinstance(rec, dict) else None
  return rec


def ours_value(rec):
  """The record's headline number (float) in its table's metric, or None."""
  metric = GROUPS[rec["table"]][2]
  if metric == "nats per example (LL)":
    return statistics.mean(f["test_ll"] for f in rec["folds"])
  key = rec.get("result_key") or ("test_nll" if metric == "nats" else "test_bpd")
  return _get(rec, key)


def _se(values):
  """Standard error of the mean (nan for a single value)."""
  return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan


def fmt_value(rec):
  """The record's number alone, formatted as in the tables ("-" without one)."""
  metric = GROUPS[rec["table"]][2]
  value = ours_value(rec)
  if metric == "nats per example (LL)":
    lls = [f["test_ll"] for f in rec["folds"]]
    return f"{value:+.2f} ± {_se(lls):.2f}"
  if value is None:
    return "-"
  return f"{value:.2f}" if metric == "nats" else f"{value:.3f}"


def fmt_ours(rec):
  metric = GROUPS[rec["table"]][2]
  value = ours_value(rec)
  if metric == "nats per example (LL)":
    lls = [f["test_ll"] for f in rec["folds"]]
    if len(lls) == 1:
      return f"**{value:+.2f}** (1 fold)"
    return f"**{value:+.2f} ± {_se(lls):.2f}** ({len(lls)} folds)"
  if value is None:
    bvn = rec.get("best_validation_nll")
    return "- (no test evaluation" + (f"; validation {bvn:.2f})" if bvn is not None else ")")
  text = f"**{value:.2f}**" if metric == "nats" else f"**{value:.3f}**"
  std = rec.get("test_nll_std" if metric == "nats" else "test_bpd_std")
  if std is not None and not rec.get("result_key"):
    text += (f" ± {std:.2f}" if metric == "nats" else f" ± {std:.3f}") + (
        f" (mean ± std over {len(rec['seeds'])} seeds)")
  n = rec.get("test_examples")
  if metric in ("nats", "bits/dim") and n and n != 10000:
    text += f" (first {n:,} test images)"
  return text


def fmt_paper(paper_id, citations):
  if paper_id is None:
    return "no paper row"
  c = citations[paper_id]
  return f"{c['value']} (`{paper_id}`, {c['status']})"


def fmt_budget(rec):
  if "folds" in rec:
    steps = [f["steps"] for f in rec["folds"] if "steps" in f]
    if not steps:
      return f"{len(rec['folds'])} folds"
    return f"{len(rec['folds'])} folds, {min(steps):,}-{max(steps):,} steps each"
  steps, epochs = rec.get("steps"), rec.get("epochs")
  if steps is None and epochs is None:
    return "-"
  parts = [f"{steps:,} steps" if steps is not None else None,
           None if epochs is None else
           f"{epochs:.0f} epochs" if epochs >= 10 else f"{epochs:.2f} epochs"]
  text = ", ".join(p for p in parts if p)
  return text + (", early stop" if rec.get("stopped_early") else "")


def _minutes(seconds):
  m = seconds / 60
  return f"{m:.1f} min" if m < 10 else f"{m:.0f} min"


def fmt_wall(rec):
  if "folds" in rec:
    walls = [f.get("wall_time_s") for f in rec["folds"]]
    return _minutes(sum(walls)) + " (sum over folds)" if all(walls) else "-"
  if rec.get("wall_time_s") is None:
    return rec.get("wall_time") or "-"
  text = _minutes(rec["wall_time_s"])
  if rec.get("resumed_from_step"):
    text += f" (last segment, from step {rec['resumed_from_step']:,}"
    if rec.get("train_time_s"):
      text += f"; {_minutes(rec['train_time_s'])} of training in all"
    text += ")"
  return text


def fmt_device(rec):
  count = rec.get("device_count")
  return f"{count}x {rec['device_kind']}" if count else rec["device_kind"]


def fmt_config(rec):
  name = pathlib.Path(rec["config_path"]).name
  text = f"`{name}{':' + rec['config_variant'] if rec['config_variant'] else ''}`"
  if rec.get("overrides"):
    text += " + " + " ".join(f"`{o}`" for o in rec["overrides"])
  return text


def fmt_model(rel, rec):
  text = rec["label"]
  if rec.get("samples"):
    link = (pathlib.PurePosixPath("results") / rel).parent / rec["samples"]
    text += f" ([samples]({pathlib.PurePosixPath(*_normalize(link.parts))}))"
  return text


def _normalize(parts):
  out = []
  for p in parts:
    if p == ".." and out:
      out.pop()
    else:
      out.append(p)
  return out


HEADER = ("| model | config | data | paper | ours | steps / epochs | wall time | device | date |\n"
          "|---|---|---|---|---|---|---|---|---|")


def _sort_key(item):
  rel, rec = item
  return (rec["label"], rec.get("steps") or 0, rel)


def render_sweep(rel, rec):
  out = [f"Record: `{rel}`. Selection: {rec['selection_rule']}. Base: "
         + " ".join(f"`{o}`" for o in rec["base_overrides"]) + f"; {rec['scaling']}. Stages: "
         + "; ".join(f"({i}) {s}" for i, s in enumerate(rec["stages"], 1))
         + f". Caveats: {rec['caveats']}. Wall time: {rec['wall_time']}; {rec['host']}; "
         f"{rec['date']}.", "",
         "| rank | hidden | K | L2 | lr | activation | batch | mean validation NLL | per fold "
         "| best step per fold | folds at the step cap |", "|---|---|---|---|---|---|---|---|---|---|---|"]
  for r in sorted(rec["rows"], key=lambda r: r["rank"]):
    out.append(f"| {r['rank']}{' (' + r['tag'] + ')' if r['tag'] else ''} | {r['hidden_size']} | "
               f"{r['num_components']} | {r['l2']:g} | {r['lr']:g} | {r['activation']} | "
               f"{r['batch_size']} | **{r['mean_validation_nll']:.2f}** | "
               + ", ".join(f"{v:.2f}" for v in r["validation_nll_per_fold"]) + " | "
               + ", ".join(str(v) for v in r["best_step_per_fold"]) + f" | {r['folds_capped']}/3 |")
  return out


def render_results(records, citations):
  out = ["# Results", "",
         "Generated by `python experiments/make_results.py` from the run records in "
         "`experiments/results/` and the citations table in `experiments/PAPER_NUMBERS.md`; do "
         "not edit by hand. \"paper\" is the citation's value, id and status; \"date\" is the "
         "UTC day of the run, or of the record's commit where the run predates the field (the "
         "record's `date_source` says which). A row with no record says \"not run\".", ""]
  for table, (heading, what, _) in GROUPS.items():
    rows = sorted(((rel, r) for rel, r in records.items() if r["table"] == table), key=_sort_key)
    planned = [row for row in tables.TABLES.get(table, [])
               if not any(r["config_path"] == f"experiments/configs/{row.config_file}"
                          and r["config_variant"] == (row.config_arg or None)
                          for _, r in rows)]
    if not rows and not planned:
      continue
    out += [f'<a id="{table}"></a>', f"## {heading}", "", f"Ours: {what}.", ""]
    if table == "uci_sweep":
      for rel, rec in rows:
        out += render_sweep(rel, rec)
      out.append("")
      continue
    out.append(HEADER)
    for rel, rec in rows:
      out.append(f"| {fmt_model(rel, rec)} | {fmt_config(rec)} | {rec['data_variant']} | "
                 f"{fmt_paper(rec['paper_id'], citations)} | {fmt_ours(rec)} | "
                 f"{fmt_budget(rec)} | {fmt_wall(rec)} | {fmt_device(rec)} | {rec['date']} |")
    for row in planned:
      out.append(f"| {row.label} | `{row.config}` | - | {fmt_paper(row.paper_id, citations)} | "
                 f"not run | - | - | - | - |")
    out.append("")
    hosts = sorted({r["host"] for _, r in rows if r.get("host")})
    if hosts:
      out += ["Hosts: " + "; ".join(hosts) + ".", ""]
    notes = [f"- {r['label']}: {r['note']}" for _, r in rows if r.get("note")]
    for cid in FOR_SCALE.get(table, []):
      c = citations[cid]
      notes.append(f"- For scale only, not comparable: {c['row']}, {c['value']} {c['metric']} "
                   f"(`{cid}`, {c['status']}).")
    if notes:
      out += ["Notes:", ""] + notes + [""]
  return "\n".join(out).rstrip("\n") + "\n"


def best_per_model(records):
  """{model: (rel, record)}: the best run in the first table (GROUPS order) it appears in."""
  best = {}
  for table in GROUPS:
    if table in ("ablations", "uci_sweep"):
      continue
    for rel, rec in sorted(records.items()):
      if rec["table"] != table or rec["model"] in best and best[rec["model"]][1]["table"] != table:
        continue
      value = ours_value(rec)
      if value is None:
        continue
      higher = GROUPS[table][2] == "nats per example (LL)"
      cur = best.get(rec["model"])
      if cur is None or (value > ours_value(cur[1]) if higher else value < ours_value(cur[1])):
        best[rec["model"]] = (rel, rec)
  return best


def _unit(rec):
  return GROUPS[rec["table"]][2]


def render_models(records, papers, model_classes):
  """README lines: registry name, paper, cached sampler, best result."""
  best = best_per_model(records)
  out = ["| registry name | paper | cached sampler | best result here |", "|---|---|---|---|"]
  for name in sorted(model_classes):
    if name not in MODEL_PAPERS:
      raise ResultsError(f"model {name!r} is registered but has no paper key in "
                         f"make_results.MODEL_PAPERS; add one (see PAPER_NUMBERS.md Papers)")
    paper = papers[MODEL_PAPERS[name]]
    arxiv = re.search(r"arXiv:(\d{4}\.\d{4,5})", paper["reference"])
    cite = f"[{paper['short']}](https://arxiv.org/abs/{arxiv.group(1)})" if arxiv else paper["short"]
    cached = "yes" if model_classes[name].supports_cache else "no"
    if name in best:
      rel, rec = best[name]
      result = (f"[{fmt_value(rec)} {_unit(rec)}, {GROUPS[rec['table']][0]}]"
                f"(experiments/RESULTS.md#{rec['table']})")
    else:
      result = "not trained here"
    out.append(f"| `{name}` | {cite} | {cached} | {result} |")
  return "\n".join(out) + "\n"


def render_headline(records, citations):
  out = ["| model | data | paper | ours | budget | details |", "|---|---|---|---|---|---|"]
  for rel in HEADLINE:
    if rel not in records:
      raise ResultsError(f"make_results.HEADLINE names {rel!r}, which is not a run record")
    rec = records[rel]
    out.append(f"| {rec['label']} | {GROUPS[rec['table']][0]}, {rec['data_variant']} | "
               f"{fmt_paper(rec['paper_id'], citations)} | **{fmt_value(rec)}** {_unit(rec)} | "
               f"{fmt_budget(rec)} | [RESULTS.md](experiments/RESULTS.md#{rec['table']}) |")
  return "\n".join(out) + "\n"


def load_completions(root):
  """{path relative to experiments/results: JSON} of `experiments/completion.py`'s outputs."""
  base = pathlib.Path(root) / RESULTS_DIR
  found = {p.relative_to(base).as_posix(): json.loads(p.read_text())
           for p in sorted(base.rglob("*.json"))}
  return {rel: c for rel, c in found.items() if "nll_missing_nats" in c}


def render_completion(completions, records):
  """README lines: the missing-half NLL under observed-first, s_curve, raster and the best
  other training order, with the picture, per completion file."""
  if not completions:
    return "No completion run is recorded yet (`experiments/completion.py`).\n"
  out = []
  for rel, c in completions.items():
    folder = pathlib.PurePosixPath(rel).parent
    parent = posixpath.normpath(posixpath.join(str(folder), c.get("attachment_of", "")))
    label = records[parent]["label"] if parent in records else c["model"]
    nll, se = c["nll_missing_nats"], c["nll_missing_se"]
    shown = [o for o in ("observed_first", "s_curve", "raster") if o in nll]
    others = sorted((v, o) for o, v in nll.items() if o not in shown)
    if others:
      shown.append(others[0][1])
    out += [f"{label} (step {c['step']}, {c['checkpoint']} checkpoint), {c['num_digits']} test "
            f"digits, {c['missing']} missing. NLL of the missing half given the rest, under "
            "one order of the same weights:", "",
            "| order | the order | NLL (nats) |", "|---|---|---|"]
    out += [f"| `{o}` | {c['orders'][o]} | {nll[o]:.2f} ± {se[o]:.2f} |" for o in shown]
    if c.get("picture"):
      out += ["", f"![completions]({RESULTS_DIR}/{folder}/{c['picture']})"]
    out.append("")
  return "\n".join(out)


def replace_block(text, name, body):
  """`text` with the block between the `name` markers replaced by `body` (if present)."""
  start, end = f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"
  if start not in text:
    return text
  if end not in text:
    raise ResultsError(f"README.md has {start} but no {end}")
  head, rest = text.split(start, 1)
  _, tail = rest.split(end, 1)
  return f"{head}{start}\n{body}{end}{tail}"


def _model_classes():
  from ar_jax import models  # pylint: disable=import-outside-toplevel  (jax is slow to import)
  return {name: models.get_class(name) for name in models.names()}


def generate(root=None, model_classes=None):
  """{relative path: expected text} of every generated file under `root`."""
  root = pathlib.Path(root or ROOT)
  papers, citations = load_citations(root)
  records = load_records(root)
  check_ids(records, citations)
  out = {"experiments/RESULTS.md": render_results(records, citations)}
  readme = root / "README.md"
  if readme.exists():
    text = readme.read_text()
    if "<!-- generated:models -->" in text:
      classes = model_classes if model_classes is not None else _model_classes()
      text = replace_block(text, "models", render_models(records, papers, classes))
    text = replace_block(text, "headline", render_headline(records, citations))
    text = replace_block(text, "completion",
                         render_completion(load_completions(root), records))
    out["README.md"] = text
  return out


def main(argv=None, root=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is stale")
  args = parser.parse_args(argv)
  stale = []
  root = pathlib.Path(root or ROOT)
  for rel, text in generate(root).items():
    path = root / rel
    if path.exists() and path.read_text() == text:
      continue
    stale.append(rel)
    if not args.check:
      path.write_text(text)
  if args.check and stale:
    print(f"stale: {', '.join(stale)}; run `python experiments/make_results.py`")
    return 1
  print(("wrote " if stale else "up to date: ") + ", ".join(stale or ["all generated files"]))
  return 0


if __name__ == "__main__":
  sys.exit(main())

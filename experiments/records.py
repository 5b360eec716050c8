"""Run records and the citations table of `experiments/`, loaded and checked.

`load_citations` parses the two tables of `experiments/PAPER_NUMBERS.md`
(papers, citations); `load_records` reads every run record under
`experiments/results/` and checks the fields `make_results.py` prints.
"""

import json
import pathlib

import tables

ROOT = pathlib.Path(__file__).resolve().parents[1]

RESULTS_DIR = "experiments/results"
STATUSES = ("confirmed", "corroborated", "unconfirmed")
CITATION_COLUMNS = ["id", "paper", "table/figure", "row", "metric", "value", "status", "source"]
PAPER_COLUMNS = ["key", "short", "reference"]

# table key -> (heading, what "ours" is, metric, record key of the value)
GROUPS = {
    "binarized_mnist": ("Binarized MNIST", "test NLL, nats (lower is better)", "nats"),
    "binarized_mnist_dynamic": ("Dynamically binarized MNIST (pytorch-generative's protocol)",
                                "test NLL, nats (lower is better), the mean over several "
                                "binarizations of the test set; training on all 60k "
                                "training images", "nats"),
    "class_conditional": ("Class-conditional, binarized MNIST",
                          "test NLL of x given its digit, nats; a conditional likelihood, not "
                          "comparable with the unconditional rows", "nats"),
    "mnist_8bit": ("8-bit MNIST", "test NLL, bits/dim (lower is better)", "bits/dim"),
    "fashion_mnist": ("Fashion-MNIST", "test NLL, bits/dim (lower is better)", "bits/dim"),
    "cifar10": ("CIFAR-10", "test NLL, bits/dim (lower is better)", "bits/dim"),
    "uci": ("RNADE on UCI", "test log-likelihood per example, nats, mean ± s.e. over folds "
            "(higher is better)", "nats per example (LL)"),
    "uci_sweep": ("RNADE on UCI Ionosphere: validation sweep",
                  "mean best validation NLL over folds 0-2, nats per example", None),
    "shakespeare_char": ("shakespeare_char", "test bits per character (lower is better)",
                         "bits/char"),
    "speech": ("WaveNet on speech (asterisk_speech)", "test bits per sample over the whole test "
               "split (lower is better); the WaveNet paper reports no likelihood", "bits/sample"),
    "ablations": ("Binarized MNIST ablations", "test NLL, nats (lower is better); one change "
                  "on top of a row's config", "nats"),
}
REQUIRED = ["table", "label", "model", "config_path", "config_variant", "data_variant",
            "paper_id", "date", "device_kind"]


class ResultsError(ValueError):
  pass


def _md_table(text, header):
  """Rows (dicts) of the markdown table in `text` whose header is `header`."""
  lines = text.splitlines()
  want = "| " + " | ".join(header) + " |"
  if want not in lines:
    raise ResultsError(f"PAPER_NUMBERS.md: no table with header {want!r}")
  rows = []
  for line in lines[lines.index(want) + 2:]:
    if not line.startswith("|"):
      break
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != len(header):
      raise ResultsError(f"PAPER_NUMBERS.md: {len(cells)} cells, expected {len(header)}: {line!r}")
    rows.append(dict(zip(header, cells)))
  return rows


def load_citations(root=None):
  """(papers by key, citations by id) parsed from PAPER_NUMBERS.md, checked."""
  text = (pathlib.Path(root or ROOT) / "experiments" / "PAPER_NUMBERS.md").read_text()
  papers = {r["key"]: r for r in _md_table(text, PAPER_COLUMNS)}
  citations = {}
  for row in _md_table(text, CITATION_COLUMNS):
    cid = row["id"]
    if cid in citations:
      raise ResultsError(f"PAPER_NUMBERS.md: citation id {cid!r} appears twice")
    if row["paper"] not in papers:
      raise ResultsError(f"PAPER_NUMBERS.md: citation {cid!r} names paper {row['paper']!r}, "
                         f"not in the Papers table ({sorted(papers)})")
    if row["status"] not in STATUSES:
      raise ResultsError(f"PAPER_NUMBERS.md: citation {cid!r} has status {row['status']!r}; "
                         f"expected one of {STATUSES}")
    try:
      float(row["value"])
    except ValueError:
      raise ResultsError(f"PAPER_NUMBERS.md: citation {cid!r} value {row['value']!r} is not "
                         f"a number") from None
    citations[cid] = row
  return papers, citations


def load_records(root=None):
  """{path relative to experiments/results: record}, every record checked."""
  root = pathlib.Path(root or ROOT)
  base = root / RESULTS_DIR
  records = {}
  for path in sorted(base.rglob("*.json")):
    rel = path.relative_to(base).as_posix()
    rec = json.loads(path.read_text())
    if "attachment_of" in rec:
      if not (path.parent / rec["attachment_of"]).exists():
        raise ResultsError(f"{rel}: attachment_of {rec['attachment_of']!r} does not exist")
      continue
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
      raise ResultsError(f"{rel}: run record lacks {missing} (null where unknown); "
                         f"a file that belongs to another record sets `attachment_of`")
    if rec["table"] not in GROUPS:
      raise ResultsError(f"{rel}: table {rec['table']!r} is not one of {sorted(GROUPS)}")
    if not (pathlib.Path(root) / rec["config_path"]).exists():
      raise ResultsError(f"{rel}: config_path {rec['config_path']!r} does not exist")
    records[rel] = rec
  return records


def check_ids(records, citations):
  for rel, rec in records.items():
    if rec["paper_id"] is not None and rec["paper_id"] not in citations:
      raise ResultsError(f"{rel}: paper_id {rec['paper_id']!r} is not in the citations table "
                         f"of experiments/PAPER_NUMBERS.md; add the row there or set null")
  for name, rows in tables.TABLES.items():
    for row in rows:
      if row.paper_id is not None and row.paper_id not in citations:
        raise ResultsError(f"tables.TABLES[{name!r}] row {row.key!r}: paper_id "
                           f"{row.paper_id!r} is not in the citations table")
  for name, cid in tables.UCI.items():
    if cid not in citations:
      raise ResultsError(f"tables.UCI[{name!r}]: {cid!r} is not in the citations table")

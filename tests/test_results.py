"""experiments/RESULTS.md is generated from the run records and the citations table."""

import json
import pathlib
import re
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
import make_results  # pylint: disable=wrong-import-position
import tables  # pylint: disable=wrong-import-position

REGEN = "python experiments/make_results.py"


def test_generated_files_are_current():
  for rel, text in make_results.generate().items():
    committed = (ROOT / rel).read_text() if (ROOT / rel).exists() else None
    assert committed == text, f"{rel} is stale or edited by hand: run `{REGEN}` and commit it"


def _copy_inputs(tmp_path):
  """The generator's inputs (configs, records, citations) under tmp_path."""
  shutil.copytree(ROOT / "experiments" / "configs", tmp_path / "experiments" / "configs")
  shutil.copy(ROOT / "experiments" / "PAPER_NUMBERS.md", tmp_path / "experiments")
  src = ROOT / make_results.RESULTS_DIR
  for path in src.rglob("*.json"):
    dst = tmp_path / make_results.RESULTS_DIR / path.relative_to(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, dst)
  return tmp_path


def test_record_with_unknown_citation_id_fails(tmp_path):
  root = _copy_inputs(tmp_path)
  path = root / make_results.RESULTS_DIR / "binarized_mnist" / "nade.json"
  rec = json.loads(path.read_text())
  rec["paper_id"] = "nobody2099-made-up"
  path.write_text(json.dumps(rec))
  with pytest.raises(make_results.ResultsError, match="nobody2099-made-up.*not in the citations"):
    make_results.generate(root)


def test_record_without_the_table_fields_fails(tmp_path):
  root = _copy_inputs(tmp_path)
  path = root / make_results.RESULTS_DIR / "binarized_mnist" / "stray.json"
  path.write_text(json.dumps({"test_nll": 80.0}))
  with pytest.raises(make_results.ResultsError, match="stray.json: run record lacks"):
    make_results.generate(root)


@pytest.mark.parametrize("old,new,message", [
    ("| confirmed | authors' ajayjain", "| maybe | authors' ajayjain", "status 'maybe'"),
    ("| pg-nade-dynamic |", "| pg-made-dynamic |", "appears twice"),
    ("| nats | 85.65 |", "| nats | about 85 |", "not a number"),
])
def test_bad_citations_table_fails(tmp_path, old, new, message):
  root = _copy_inputs(tmp_path)
  path = root / "experiments" / "PAPER_NUMBERS.md"
  text = path.read_text()
  assert old in text
  path.write_text(text.replace(old, new, 1))
  with pytest.raises(make_results.ResultsError, match=message):
    make_results.generate(root)


def test_check_mode_reports_a_stale_file(tmp_path, capsys):
  root = _copy_inputs(tmp_path)
  assert make_results.main([], root=root) == 0
  out = root / "experiments" / "RESULTS.md"
  assert make_results.main(["--check"], root=root) == 0
  out.write_text(out.read_text().replace("**88.83**", "**88.00**"))
  assert make_results.main(["--check"], root=root) == 1
  assert REGEN in capsys.readouterr().out


def test_every_paper_value_comes_from_the_citations_table():
  _, citations = make_results.load_citations()
  text = (ROOT / "experiments" / "RESULTS.md").read_text()
  header = "| model | config | data | paper | ours |"
  seen = 0
  for block in text.split(header)[1:]:
    for line in block.splitlines()[2:]:
      if not line.startswith("|"):
        break
      paper = [c.strip() for c in line.strip("|").split("|")][3]
      if paper == "no paper row":
        continue
      m = re.fullmatch(r"(\S+) \(`([\w.-]+)`, (\w+)\)", paper)
      assert m, f"paper cell {paper!r} does not name a citation id"
      value, cid, status = m.groups()
      assert cid in citations
      assert (value, status) == (citations[cid]["value"], citations[cid]["status"])
      seen += 1
  records = make_results.load_records()
  assert seen >= sum(r["paper_id"] is not None for r in records.values())


def test_reproduce_tables_name_citations_not_numbers():
  _, citations = make_results.load_citations()
  for rows in tables.TABLES.values():
    for row in rows:
      assert row.paper_id is None or row.paper_id in citations, row
      assert (ROOT / "experiments" / "configs" / row.config_file).exists(), row
  assert set(tables.UCI.values()) <= set(citations)
  for script in ("reproduce.py", "budgets.py", "tables.py"):
    source = (ROOT / "experiments" / script).read_text()
    typed = {c["value"] for c in citations.values() if re.search(
        rf"(?<![\d.]){re.escape(c['value'])}(?![\d])", source)}
    assert not typed, f"{script} types paper values {typed}; name a citation id instead"


class _Model:
  supports_cache = True


class _NoCache:
  supports_cache = False


def test_readme_blocks_are_filled_between_their_markers():
  papers, citations = make_results.load_citations()
  records = make_results.load_records()
  readme = ("intro\n<!-- generated:models -->\nSTALE-LINE\n<!-- /generated:models -->\nmiddle\n"
            "<!-- generated:headline -->\n<!-- /generated:headline -->\nend\n")
  text = make_results.replace_block(
      readme, "models", make_results.render_models(
          records, papers, {"made": _Model, "pixelsnail": _NoCache}))
  text = make_results.replace_block(text, "headline",
                                    make_results.render_headline(records, citations))
  assert text.startswith("intro\n<!-- generated:models -->\n| registry name |")
  assert "STALE-LINE" not in text and text.endswith("<!-- /generated:headline -->\nend\n")
  made = next(l for l in text.splitlines() if l.startswith("| `made` |"))
  assert "arxiv.org/abs/1502.03509" in made and "| yes |" in made
  assert "experiments/RESULTS.md#binarized_mnist" in made
  snail = next(l for l in text.splitlines() if l.startswith("| `pixelsnail` |"))
  assert snail.endswith("| no | not trained here |")
  assert text.count("](experiments/RESULTS.md#") >= len(make_results.HEADLINE) + 1


def test_registered_model_without_a_paper_key_fails():
  papers, _ = make_results.load_citations()
  with pytest.raises(make_results.ResultsError, match="'brand_new'.*MODEL_PAPERS"):
    make_results.render_models({}, papers, {"brand_new": _Model})


def test_results_tree_names_no_machine_path():
  for path in [ROOT / "experiments" / "PAPER_NUMBERS.md", ROOT / "experiments" / "RESULTS.md",
               *(ROOT / make_results.RESULTS_DIR).rglob("*.json"),
               *(ROOT / make_results.RESULTS_DIR).rglob("*.md")]:
    text = path.read_text()
    assert "/work/" not in text and "/root/" not in text and "/home/" not in text, path


def test_completion_block_shows_the_key_orders_of_each_completion_file(tmp_path):
  root = _copy_inputs(tmp_path)
  folder = root / make_results.RESULTS_DIR / "binarized_mnist" / "completion"
  shutil.rmtree(folder, ignore_errors=True)  # only this test's file
  folder.mkdir()
  nll = {"observed_first": 30.5, "s_curve": 61.0, "raster": 62.5,
         "s_curve+flip_ud": 33.25, "s_curve+flip_lr": 60.0}
  (folder / "c.json").write_text(json.dumps({
      "attachment_of": "../nade.json", "model": "lmconv", "step": 40, "checkpoint": "best",
      "num_digits": 7, "missing": "top half", "orders": {o: f"about {o}" for o in nll},
      "nll_missing_nats": nll, "nll_missing_se": {o: 0.5 for o in nll},
      "picture": "c.png"}))
  records = make_results.load_records(root)  # the attachment is not a run record
  block = make_results.render_completion(make_results.load_completions(root), records)
  rows = [l for l in block.splitlines() if l.startswith("| `")]
  # observed_first, s_curve, raster, then only the best other order (flip_ud, not flip_lr).
  assert [r.split("`")[1] for r in rows] == ["observed_first", "s_curve", "raster",
                                            "s_curve+flip_ud"]
  assert "| 30.50 ± 0.50 |" in rows[0] and "| 33.25 ± 0.50 |" in rows[3]
  assert block.startswith(records["binarized_mnist/nade.json"]["label"])
  assert "](experiments/results/binarized_mnist/completion/c.png)" in block

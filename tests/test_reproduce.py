"""reproduce.py over every row of every table (smoke budget), its errors, and sweep.py.

The smoke runs read the synthetic stand-ins (`--data standin`, an empty data
dir), train 2 steps each and write their records and RESULTS.md into the
temporary workdir only; the committed records must not change.
"""

import json
import math
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
import budgets  # pylint: disable=wrong-import-position
import reproduce  # pylint: disable=wrong-import-position
import sweep  # pylint: disable=wrong-import-position
from tables import TABLES  # pylint: disable=wrong-import-position

TINY = ["--base", "data.name=synthetic:shape=4x4x1,train=64,validation=16,test=16",
        "--base", "model.hparams.input_shape=(16,)", "--base", "model.hparams.hidden_sizes=(8,)",
        "--base", "train.batch_size=8", "--base", "eval.batch_size=8",
        "--base", "eval.num_samples=0", "--base", "eval.every_steps=2",
        "--base", "train.checkpoint_every_steps=2", "--base", "train.log_every_steps=1"]


def _committed():
  base = ROOT / "experiments" / "results"
  return {p: p.stat().st_mtime_ns for p in base.rglob("*")}


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
  monkeypatch.setenv("AR_JAX_DATA_DIR", str(tmp_path / "no_data"))


def test_smoke_runs_every_row_of_every_table(tmp_path, empty_data):
  before = _committed()
  records = reproduce.main(["--table", "all", "--budget", "smoke", "--data", "standin",
                            "--workdir", str(tmp_path)])
  assert _committed() == before, "a smoke run touched experiments/results/"
  results_md = (tmp_path / "smoke" / "RESULTS.md").read_text()
  for table, rows in TABLES.items():
    for row in rows:
      rel = f"{table}/{row.key}_smoke.json"
      assert rel in records, rel
      on_disk = json.loads((tmp_path / "smoke" / "results" / rel).read_text())
      values = ([f["test_ll"] for f in on_disk["folds"]] if row.folds else
                [on_disk["test_nll"]])
      assert values and all(math.isfinite(v) for v in values), rel
      assert on_disk["config_variant"] == row.variant("smoke")
      assert "stand-in synthetic" in on_disk["data_variant"]
      assert f"| {row.label} (:smoke budget)" in results_md, row
    assert (tmp_path / "smoke" / "results" / table / "curves_smoke.png").exists()
  dynamic = json.loads((tmp_path / "smoke" / "binarized_mnist_dynamic" / "pixelcnn" / "seed0"
                        / "results.json").read_text())
  assert len(dynamic["test_nll_draws"]) == 2
  assert dynamic["test_nll"] == pytest.approx(sum(dynamic["test_nll_draws"]) / 2)
  assert dynamic["test_params"] == "final"


def test_several_seeds_give_mean_and_std(tmp_path, empty_data):
  records = reproduce.main(["--table", "binarized_mnist", "--rows", "fvsbn", "--seeds", "2",
                            "--budget", "smoke", "--data", "standin", "--workdir", str(tmp_path)])
  rec = records["binarized_mnist/fvsbn_smoke.json"]
  nlls = [r["test_nll"] for r in rec["per_seed"]]
  assert rec["seeds"] == [0, 1] and nlls[0] != nlls[1]
  assert rec["test_nll"] == pytest.approx(sum(nlls) / 2)
  assert rec["test_nll_std"] == pytest.approx(abs(nlls[0] - nlls[1]) / math.sqrt(2))
  assert "(mean ± std over 2 seeds)" in (tmp_path / "smoke" / "RESULTS.md").read_text()


@pytest.mark.parametrize("argv, words", [
    (["--table", "mnist", "--budget", "smoke"], ["'mnist'", "binarized_mnist_dynamic", "all"]),
    (["--table", "cifar10", "--rows", "pixelcnn,nade"], ["'nade'", "pixelcnn_pp"]),
    (["--table", "uci", "--budget", "tiny"], ["'tiny'", "smoke", "full"]),
])
def test_unknown_table_row_or_budget_names_value_and_choices(argv, words, capsys):
  with pytest.raises(SystemExit):
    reproduce.parse_args(argv)
  err = capsys.readouterr().err
  assert all(w in err for w in words), err


def test_cpu_budget_is_the_cpu_variant_and_full_the_paper_config():
  row = TABLES["mnist_8bit"][0]
  assert row.variant("full") == "pixelcnn,mnist_8bit"
  assert row.variant("cpu") == "pixelcnn,mnist_8bit,cpu"
  full, _ = budgets.row_config(TABLES["binarized_mnist_dynamic"][2], "full")
  cpu, _ = budgets.row_config(TABLES["binarized_mnist_dynamic"][2], "cpu")
  assert full.model.hparams.num_blocks == 15 and cpu.model.hparams.num_blocks == 3
  assert (full.data.name, full.data.binarization, full.data.train_split) == (
      "mnist_8bit", "dynamic", "train+validation")
  assert full.eval.test_draws > 1 and full.eval.test_params == "final"


def test_sweep_runs_each_combination_in_its_own_workdir(tmp_path, capsys):
  rows = sweep.main(["--config", "experiments/configs/made_mnist.py:cpu",
                     "--set", "train.num_steps=2,4", "--workdir", str(tmp_path), *TINY])
  assert [r["steps"] for _, r in rows] == [2, 4]
  for name in ("train.num_steps=2", "train.num_steps=4"):
    assert (tmp_path / name / "results.json").exists()
  summary = (tmp_path / "summary.md").read_text()
  assert "`train.num_steps=2`" in summary and "`train.num_steps=4`" in summary
  assert summary in capsys.readouterr().out
  # The second host of two gets the second run only; both exist, so nothing trains.
  rows = sweep.main(["--config", "experiments/configs/made_mnist.py:cpu",
                     "--set", "train.num_steps=2,4", "--workdir", str(tmp_path),
                     "--host_index", "1", "--num_hosts", "2", *TINY])
  assert [o for o, _ in rows] == [["train.num_steps=4"]]


def test_sweep_values_split_at_top_level_commas_only():
  assert sweep.split_values("1,(2, 3),x") == ["1", "(2, 3)", "x"]
  assert sweep.combinations(["a=1,2", "b=x"]) == [["a=1", "b=x"], ["a=2", "b=x"]]

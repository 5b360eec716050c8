"""Smoke tests of the benchmark scripts on tiny sizes (they must not rot).

No timing is asserted: only that each measurement runs and returns sane,
positive numbers in the fields the tables and JSON are built from, and that
every record carries the machine's load and the run's matmul peak.
"""

import json
import time

import numpy as np
import pytest

from benchmarks import compare_revisions, dense, image, sequence, timing

# Every test here: one short timing window per measurement (see conftest.py).
pytestmark = pytest.mark.usefixtures("one_short_timing_window")


def _record(path):
  doc = json.loads(path.read_text())
  assert doc["quick"] and len(doc["load_average"]["start"]) == 3, doc.keys()
  assert doc["machine"]["cpus"] >= 1
  return doc


def test_timer_excludes_the_warm_up_call_and_interleaves_rounds():
  calls = []
  slow = lambda: calls.append(1) or time.sleep(0.002) or np.zeros(())  # noqa: E731
  assert timing.median_seconds(slow) >= 0.002
  assert len(calls) == 2  # warm-up + one timed window of one call
  order = []
  measures = {k: (lambda k=k: order.append(k) or np.zeros(())) for k in "ab"}
  med = timing.interleaved(measures, rounds=2)
  assert order == ["a", "b", "a", "b", "b", "a"] and set(med) == {"a", "b"}
  assert timing.memory_bandwidth(n_bytes=400_000) > 0


def test_dense_quick_run_writes_every_table(tmp_path):
  out = tmp_path / "dense.json"
  res = dense.main(["--quick", "--configs", "made_mnist", "--out", str(out)])
  doc = _record(out)
  assert doc["matmul_peak_gflops"] > 0 and doc["train"] == res["train"]
  for r in res["train"]:
    assert np.isclose(r["examples_per_s"], 100 * r["steps_per_s"]) and r["pct_peak"] > 0
  assert [r["D"] for r in res["nade_sampling"]] == [5] and res["nade_sampling"][0]["speedup"] > 0
  (trainer,) = res["trainer"]
  assert trainer["config"] == "made_mnist:cpu" and trainer["steps_per_s"] > 0


def test_dense_breakdown_variants_compute_the_trainers_loss():
  """Every timed variant (the trainer's step, its ablations, the bare Adam
  step, the loss alone) starts from the same params and batch, so their first
  losses agree: the breakdown times the same objective throughout."""
  fns, flops, mm_flops = dense.breakdown_measures((8, 8), batch=4, dims=6)
  names = ("trainer step", "trainer step, no grad norm", "trainer step, no extras",
           "bare Adam step", "loss+grad (as trained)")
  losses = {k: float(np.asarray(fns[k]()).reshape(())) for k in names}
  assert flops > 0 and mm_flops > 0
  for k, v in losses.items():
    np.testing.assert_allclose(v, losses["trainer step"], rtol=1e-6, err_msg=k)


def test_image_quick_run_fills_the_tables(tmp_path):
  out = tmp_path / "image.json"
  res = image.main(["--quick", "--models", "gated_pixelcnn", "--batches", "2",
                    "--out", str(out)])
  assert _record(out)["matmul_peak_gflops"] > 0
  (train,) = res["train"]
  assert train["images_per_s"] > 0 and train["gflops"] > 0 and train["params"] > 0
  assert [r["shape"] for r in res["sampling"]] == [[3, 3, 1], [2, 2, 3]]
  for r in res["sampling"]:
    assert r["cached_s"] > 0 and r["naive_s"] > 0 and r["speedup"] > 0
  with pytest.raises(ValueError, match="no benchmark sizes for 'made'"):
    image.main(["--quick", "--models", "made"])


def test_sequence_quick_run_fills_both_families(tmp_path):
  out = tmp_path / "seq.json"
  results = sequence.main(["--quick", "--out", str(out)])
  assert _record(out)["families"] == json.loads(json.dumps(results))
  text = {(r["model"].split()[0], r["measure"]): r for r in results["text"]["rows"]}
  assert {m for _, m in text} == {"train", "sample naive", "sample cached"}
  assert all(r["tokens_per_s"] > 0 and r["T"] == 16 for r in text.values())
  assert text["char_rnn", "sample cached"]["cached_speedup"] > 0
  sample, train = results["audio"]["rows"]
  assert set(sample) == set(train) == set(sequence.AUDIO_COLUMNS)
  assert sample["cached_samples_per_s"] > 0 and sample["naive_samples_per_s"] > 0
  assert sample["speedup"] > 0 and train["train_samples_per_s"] > 0


def test_compare_revisions_times_a_step_in_a_subprocess():
  t = compare_revisions.time_case(compare_revisions.ROOT,
                                  ("tiny", "made", {"hidden_sizes": (4,)}, 0.0))
  assert t > 0

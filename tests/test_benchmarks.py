"""Smoke tests of the benchmark scripts on tiny sizes (they must not rot).

No timing is asserted: only that each measurement runs and returns sane,
positive numbers in the fields the tables and JSON are built from.
"""

import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import compare_revisions  # pylint: disable=wrong-import-position
import made_step_breakdown  # pylint: disable=wrong-import-position
import model_speed  # pylint: disable=wrong-import-position
import train_throughput  # pylint: disable=wrong-import-position
from ar_jax import models  # pylint: disable=wrong-import-position


# Every test here: one short timing window per measurement (see conftest.py).
pytestmark = pytest.mark.usefixtures("one_short_timing_window")


def test_model_speed_pieces_run_on_tiny_sizes():
  x = jax.random.bernoulli(jax.random.key(0), 0.3, (4, 6)).astype(jnp.int32)
  model = models.get("made", input_shape=(6,), hidden_sizes=(8,))
  assert model_speed.matmul_peak(sizes=((8, 8, 8),)) > 0
  assert model_speed.memory_bandwidth(n_bytes=400_000) > 0
  r = model_speed.train_step_speed(model, x, model_speed.mlp_flops(4, [6, 8, 6]))
  assert set(r) == {"steps_per_s", "examples_per_s", "gflops"}
  assert np.isclose(r["examples_per_s"], 4 * r["steps_per_s"]) and r["gflops"] > 0
  b = model_speed.made_breakdown(model, x, 8)
  assert b["gemms_ms"] > 0 and b["grad_ms"] > 0
  (row,) = model_speed.nade_sampling(dims=(5,), hidden=4, n=2)
  assert row["D"] == 5 and row["speedup"] > 0


def test_step_breakdown_variants_compute_the_trainers_loss():
  """Every timed variant (the trainer's step, its ablations, the bare Adam
  step, the loss alone) starts from the same params and batch, so their first
  losses agree: the breakdown times the same objective throughout."""
  fns, flops, mm_flops = made_step_breakdown.build((8, 8), batch=4, dims=6)
  names = ("trainer step", "trainer step, no grad norm", "trainer step, no extras",
           "bare Adam step")
  losses = {k: float(np.asarray(fns[k]()).reshape(())) for k in names}
  assert flops > 0 and mm_flops > 0
  ref = losses["trainer step"]
  for k, v in losses.items():
    np.testing.assert_allclose(v, ref, rtol=1e-6, err_msg=k)


def test_train_throughput_bench_runs_a_config():
  c = train_throughput.load_config("made_mnist", "cpu")
  c.model.hparams.hidden_sizes = (16,)
  r = train_throughput.bench(c, seconds=0.2, warmup_dispatches=1)
  assert r["measured_steps"] >= 1 and r["steps_per_sec"] > 0
  assert r["examples_per_sec"] == r["steps_per_sec"] * c.train.batch_size


def test_compare_revisions_worker_times_a_step():
  t = compare_revisions._time(ROOT, ("tiny", "made", {"hidden_sizes": (4,)}, 1))
  assert t > 0


def test_sequence_models_quick_runs_the_text_family(tmp_path):
  import sequence_models  # pylint: disable=import-outside-toplevel
  out = tmp_path / "seq.json"
  results = sequence_models.main(["--family", "text", "--quick", "--out", str(out)])
  rows = results["text"]["rows"]
  by_measure = {r["measure"]: r for r in rows if r["model"].startswith("char_rnn")}
  assert set(by_measure) == {"train", "sample naive", "sample cached"}
  assert all(r["tokens_per_s"] > 0 and r["T"] == 16 for r in by_measure.values())
  assert by_measure["sample cached"]["cached_speedup"] > 0
  assert json.loads(out.read_text())["families"]["text"]["columns"] == results["text"]["columns"]

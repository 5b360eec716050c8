"""benchmarks/peers.py: ar_jax's cases for the peer harness, and its table.

The harness itself lives outside the repository; a stand-in `bench` with tiny
configs runs the cases (the dense ones through the trainer's step and the
sampler), and the table is checked on a hand-made harness result.
"""

import importlib.util
import types

import jax
import numpy as np

from benchmarks import peers


def _fake_bench():
  def time_train(step, sync, args, warmup=3):
    del args, warmup
    out = [step() for _ in range(2)][-1]
    sync(out)
    return {"steps_per_s": 1.0, "loss": float(np.asarray(out).ravel()[0])}

  def time_sample(draw, sync, args, warmup=None):
    del args, warmup
    out = draw()
    sync(out)
    a = np.asarray(out)
    return {"sample_s": 1.0, "sample_shape": list(a.shape),
            "sample_binary": bool(np.isin(a, (0, 1)).all())}

  cfg = {"made": {"D": 6, "hidden": [8, 8], "batch": 4, "lr": 1e-3, "sample_n": 3},
         "made8000": {"D": 6, "hidden": [16], "batch": 4, "lr": 1e-3},
         "nade": {"D": 6, "hidden": 5, "batch": 4, "lr": 1e-3, "sample_n": 3}}
  return types.SimpleNamespace(
      CFG=cfg, time_train=time_train, time_sample=time_sample, setup_jax=lambda: jax,
      rand_binary=lambda shape, p=0.13, seed=0: (
          np.random.default_rng(seed).random(shape) < 0.5).astype("float32"),
      made_flops_per_step=lambda d, h, b: 6 * b * d)


def _load_as_the_harness_does(bench):
  """The file loaded by path with `bench` injected (the PEERS_EXTRA_CASES protocol)."""
  spec = importlib.util.spec_from_file_location("peers_extra_cases", peers.__file__)
  mod = importlib.util.module_from_spec(spec)
  mod.bench = bench
  spec.loader.exec_module(mod)
  return mod.CASES


def test_dense_peer_cases_train_with_the_trainer_step_and_sample():
  cases = _load_as_the_harness_does(_fake_bench())
  assert {"made/ar_jax", "made8000/ar_jax", "nade/ar_jax", "gpt_baby/ar_jax"} <= set(cases)
  assert all(isinstance(fn.label, str) for fn in cases.values())
  for name in ("made/ar_jax", "made8000/ar_jax", "nade/ar_jax"):
    r = cases[name](types.SimpleNamespace())
    assert r["train_path"] == "ar_jax.steps.jit_train_steps", name
    assert np.isfinite(r["loss"]) and r["loss"] > 0, name
    if name != "made8000/ar_jax":
      assert r["sample_shape"] == [3, 6] and r["sample_binary"] and r["sample_cached"], name


def test_image_peer_case_trains_and_samples_cached():
  bench = _fake_bench()
  bench.CFG["pixelcnn_pg"] = {"n_residual": 1, "residual_channels": 2, "head_channels": 2,
                              "batch": 2, "lr": 1e-3, "sample_n": 1}
  time_train = bench.time_train
  bench.time_train = lambda *a, **kw: {**time_train(*a, **kw), "step_s": 0.5}
  r = peers.cases(bench)["pixelcnn/ar_jax"](types.SimpleNamespace())
  assert 0 < r["loss"] < 784 * np.log(2) * 1.5 and r["train_images_per_s"] == 4.0
  assert r["sample_shape"] == [1, 28, 28, 1] and r["sample_binary"] and r["params"] > 0


def test_pixelsnail_peer_case_trains_and_samples_cached():
  bench = _fake_bench()
  bench.CFG["pixelsnail_pg"] = {"n_channels": 4, "n_pixel_snail_blocks": 1,
                                "n_residual_blocks": 1, "attention_key_channels": 2,
                                "attention_value_channels": 2, "batch": 2, "lr": 1e-3,
                                "sample_n": 1}
  time_train = bench.time_train
  bench.time_train = lambda *a, **kw: {**time_train(*a, **kw), "step_s": 0.5}
  r = peers.cases(bench)["pixelsnail/ar_jax"](types.SimpleNamespace())
  assert 0 < r["loss"] < 784 * np.log(2) * 1.5 and r["train_images_per_s"] == 4.0
  assert r["sample_shape"] == [1, 28, 28, 1] and r["sample_binary"] and r["params"] > 0


def _row(steps, sample=None, batch=100, n=100, load=0.0):
  r = {"steps_per_s": steps, "batch": batch, "foreign_cpus_train": load}
  if sample is not None:
    r.update(sample_s=sample, sample_n=n, foreign_cpus_sample=load)
  return r


def test_peer_table_ratios_against_the_fastest_peer_of_each_prefix():
  results = {
      "peak/jax": {"gflops": 170.0, "foreign_cpus_train": 0.0},
      "made/tfp": _row(160.0, 0.9), "made/flowjax": _row(150.0, 1.2, load=0.5),
      "made/ar_jax": _row(240.0, 0.3),
      "nade/pytorch-generative": {"error": "timeout"}, "nade/ar_jax": _row(30.0, 0.05),
      "pixelcnn/pytorch-generative": _row(10.0, batch=32),
      "pixelcnn/tfp": _row(2.0, batch=32),
      "pixelcnn/ar_jax_pp": dict(_row(4.0, batch=32), compare_to=["pixelcnn/tfp"]),
  }
  rows = {r[0]: r for r in peers.rows(results)}
  train = rows["made/ar_jax train (steps/s)"]
  assert train[1] == "made/tfp" and np.isclose(train[4], 1.5)
  sample = rows["made/ar_jax sample 100 (s)"]
  assert sample[1] == "made/tfp" and np.isclose(sample[4], 3.0)
  assert rows["nade/ar_jax train (steps/s)"][1] == "none (nade/pytorch-generative: timeout)"
  assert np.isclose(rows["pixelcnn/ar_jax_pp train (steps/s)"][4], 2.0)
  table = peers.markdown({"results": results}, command="bench", date="2026-11-30")
  assert "jax 170" in table and "| made/ar_jax train (steps/s) | made/tfp | 160 | 240 | 1.50× |" in table


def test_text_peer_cases_train_the_tied_transformer():
  """Both GPT cases train (a finite next-token loss near log 65)."""
  bench = _fake_bench()
  tiny = {"n_layer": 1, "n_head": 2, "n_embd": 8, "block": 6, "batch": 2, "vocab": 65, "lr": 1e-3}
  bench.CFG.update(gpt_baby=tiny, gpt_small=dict(tiny, n_layer=2))
  time_train = bench.time_train
  bench.time_train = lambda *a, **kw: {**time_train(*a, **kw), "step_s": 0.5}
  cases = peers.cases(bench)
  for name in ("gpt_baby/ar_jax", "gpt_small/ar_jax"):
    r = cases[name](types.SimpleNamespace())
    assert abs(r["loss"] - np.log(65)) < 0.5, name  # mean cross-entropy of random tokens
    assert r["tokens_per_s"] == 2 * 6 / 0.5 and r["params"] > 0, name

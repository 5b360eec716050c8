"""FSDP parameter sharding: 8 sharded devices == 1 device, real shards, exact resume.

Each run is a fresh subprocess (`tests/train_testlib.py`) with 8 fake CPU
devices. The config keeps EMA and gradient accumulation on, so every kind of
state leaf (params, Adam moments, the MultiSteps buffer, EMA) is sharded.
The data are binarized, so the tiny model's weight `w` is 32 x 16 and its bias
`b` has 16 entries; with `train.fsdp_min_size=64`, `w` (512 elements) is
split over the 8 devices and `b` stays replicated.

Tolerance against 1 device: losses rtol 1e-5; every state leaf rtol 1e-5,
atol 1e-6. The sharded step reduces the global-batch gradient in a different
order (per-shard partial sums, then a reduce-scatter), so float32 rounding
differs; the values agree to a few ulps. A sharded run interrupted and
resumed on the same 8 devices runs the same programs on the same shards, so
it must equal the uninterrupted one bitwise.
"""

import json
import subprocess
import sys

import jax
import numpy as np
import pytest

import train_testlib
from ar_jax import configs
from ar_jax import sharding

OVERRIDES = {"data.name": train_testlib.synthetic_data(classes=256),
             "data.binarization": "dynamic", "optim.ema_decay": 0.9,
             "optim.grad_accum_steps": 2, "train.num_steps": 6, "optim.decay_steps": 6,
             "eval.every_steps": 6}
FSDP = dict(OVERRIDES, **{"train.param_sharding": "fsdp", "train.fsdp_min_size": 64})
W, B = ".params['w']", ".params['b']"


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
  d = tmp_path_factory.mktemp("fsdp")
  out = train_testlib.run(d / "w", d / "out.npz", devices=8, overrides=FSDP)
  out["workdir"] = str(d / "w")
  return out


@pytest.fixture
def _tiny_models():
  with train_testlib.tiny_models():
    yield


def _states(out):
  return {k: v for k, v in out.items() if k.startswith("state")}


def test_fsdp_on_eight_devices_matches_one_device(sharded, tmp_path):
  one = train_testlib.run(tmp_path / "w", tmp_path / "out.npz", devices=1,
                          overrides=OVERRIDES)
  np.testing.assert_allclose(sharded["losses"], one["losses"], rtol=1e-5)
  assert int(sharded["step"]) == int(one["step"]) == 6
  assert sorted(_states(sharded)) == sorted(_states(one))
  for k, v in _states(one).items():
    np.testing.assert_allclose(sharded[k], v, rtol=1e-5, atol=1e-6, err_msg=k)
  np.testing.assert_allclose(sharded["test_nll"], one["test_nll"], rtol=1e-5)
  assert str(one["spec" + W]) == "P()"


def test_fsdp_shards_large_leaves_and_their_optimizer_state(sharded):
  large = [k[len("spec"):] for k in sharded if k.startswith("spec") and k.endswith("['w']")]
  # params, EMA, Adam mu and nu, the accumulated gradient.
  assert len(large) == 5, large
  for k in large:
    assert str(sharded["spec" + k]) == "P('data',)", k
    assert tuple(sharded["shard" + k]) == (32 // 8, 16), k
  assert str(sharded["spec" + B]) == "P()"  # 16 < fsdp_min_size.
  assert tuple(sharded["shard" + B]) == (16,)
  for k in (".step", ".rng"):
    assert str(sharded["spec" + k]) == "P()", k


def test_fsdp_resume_is_bitwise_exact(sharded, tmp_path):
  stopped = train_testlib.run(tmp_path / "w", tmp_path / "a.npz", devices=8,
                              overrides=FSDP, stop_after=3)
  assert int(stopped["step"]) == 3  # Mid-accumulation: the MultiSteps buffer is restored.
  resumed = train_testlib.run(tmp_path / "w", tmp_path / "b.npz", devices=8,
                              overrides=FSDP)
  assert int(resumed["step"]) == 6
  for k, v in _states(sharded).items():
    np.testing.assert_array_equal(resumed[k], v, err_msg=k)
  assert float(resumed["test_nll"]) == float(sharded["test_nll"])
  np.testing.assert_array_equal(resumed["losses"], sharded["losses"])


def test_fsdp_checkpoint_restores_replicated_on_one_device(sharded, _tiny_models):
  cfg = train_testlib.apply_overrides(train_testlib.tiny_config(), OVERRIDES)
  state, _, step = train_testlib.load_state(cfg, sharded["workdir"], as_numpy=False)
  assert step == 6
  for path, leaf in jax.tree_util.tree_leaves_with_path(state):
    k = jax.tree_util.keystr(path)
    assert leaf.sharding.is_fully_replicated, k
    np.testing.assert_array_equal(np.asarray(leaf), sharded["state" + k], err_msg=k)


def test_fsdp_spec_picks_the_largest_divisible_axis():
  assert sharding.fsdp_spec((4096, 4096), 8, 8192) == jax.P("data")
  assert sharding.fsdp_spec((3, 3, 64, 128), 8, 1) == jax.P(None, None, None, "data")
  assert sharding.fsdp_spec((12, 9), 4, 1) == jax.P("data")  # 12 divides; 9 does not.
  assert sharding.fsdp_spec((9, 9), 4, 1) == jax.P()  # No divisible axis: replicated.
  assert sharding.fsdp_spec((4096,), 8, 8192) == jax.P()  # Below the threshold.
  assert sharding.fsdp_spec((4096,), 1, 1) == jax.P()  # One device: nothing to split.


@pytest.mark.parametrize("key,value,match", [
    ("param_sharding", "zero3", r"config.train.param_sharding='zero3' is invalid: expected "
     r"one of \('replicated', 'fsdp'\) \(e.g. --config.train.param_sharding=fsdp\)"),
    ("fsdp_min_size", 0, r"config.train.fsdp_min_size=0 is invalid: expected >= 1"),
])
def test_bad_sharding_config_names_key_value_and_choices(key, value, match):
  c = configs.default_config()
  c.train[key] = value
  with pytest.raises(ValueError, match=match):
    configs.validate(c)


def test_memory_benchmark_reads_the_compiled_state_size(tmp_path):
  out = tmp_path / "memory.json"
  p = subprocess.run(
      [sys.executable, "-m", "benchmarks.memory", "--devices", "8", "--configs",
       "made_mnist.py", "--out", str(out)],
      cwd=train_testlib.ROOT, env=train_testlib.runner_env(), capture_output=True,
      text=True, timeout=240, check=False)
  assert p.returncode == 0, p.stderr[-4000:]
  doc = json.loads(out.read_text())
  assert doc["devices"] == 8 and doc["largest_config"] == "made_mnist.py"
  rep, fsdp = doc["rows"]
  assert (rep["param_sharding"], fsdp["param_sharding"]) == ("replicated", "fsdp")
  for r in (rep, fsdp):  # XLA's argument size agrees with the shard shapes.
    assert r["state_bytes"] == r["state_bytes_from_shardings"] > 0, r
  assert rep["state_bytes"] == rep["state_bytes_total"]
  # MADE 784-500-784: both weight matrices and the direct 784 x 784 connection
  # (and their moments) split 8 ways; the biases (< 65536 elements) replicated.
  assert fsdp["params_sharded"] == 2 * 784 * 500 + 784 * 784
  assert fsdp["state_bytes"] < rep["state_bytes"] / 6

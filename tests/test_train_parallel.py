"""Data parallelism is invisible in the results: 8 devices and 2 processes == 1 device.

Each run is a fresh subprocess (`tests/train_testlib.py`), so the 8 fake CPU
devices (`jax_num_cpu_devices`) and the 2-process `jax.distributed` setup are
real and do not leak into other tests. Dynamic binarization is on, so the
on-device, step-keyed Bernoulli draws are covered too.

Tolerance: losses rtol 1e-5; every state leaf rtol 1e-5, atol 1e-6 (the
global-batch mean is summed in a different order on 8 shards).
"""

import os
import subprocess

import numpy as np
import pytest

import train_testlib

OVERRIDES = {"data.name": train_testlib.synthetic_data(classes=256),
             "data.binarization": "dynamic",
             "train.num_steps": 5, "optim.decay_steps": 5, "eval.every_steps": 5}
# The same with the label as `cond`: cond batches are sharded like x.
COND_OVERRIDES = dict(OVERRIDES, **{"data.cond_feature": "label",
                                    "model.name": "tiny_cond_ar"})


def _compare(ref, other):
  np.testing.assert_allclose(other["losses"], ref["losses"], rtol=1e-5)
  assert int(other["step"]) == int(ref["step"]) == 5
  keys = [k for k in ref if k.startswith("state")]
  assert keys and sorted(keys) == sorted(k for k in other if k.startswith("state"))
  for k in keys:
    np.testing.assert_allclose(other[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)
  np.testing.assert_allclose(other["test_nll"], ref["test_nll"], rtol=1e-5)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
  d = tmp_path_factory.mktemp("one")
  return train_testlib.run(d / "w", d / "out.npz", devices=1, overrides=OVERRIDES)


def test_eight_devices_match_one(one_device, tmp_path):
  out = train_testlib.run(tmp_path / "w", tmp_path / "out.npz", devices=8,
                          overrides=OVERRIDES)
  _compare(one_device, out)


def test_eight_devices_match_one_with_cond(one_device, tmp_path):
  one = train_testlib.run(tmp_path / "w1", tmp_path / "out1.npz", devices=1,
                          overrides=COND_OVERRIDES)
  eight = train_testlib.run(tmp_path / "w8", tmp_path / "out8.npz", devices=8,
                            overrides=COND_OVERRIDES)
  _compare(one, eight)
  assert any("cond_w" in k for k in one)  # The conditional model's own weights.
  # The label changes the model: the run differs from the unconditional one.
  assert not np.allclose(one["losses"], one_device["losses"])


@pytest.mark.slow
def test_two_processes_match_one(one_device, tmp_path):
  port = train_testlib.free_port()
  procs = [subprocess.Popen(
      train_testlib.runner_cmd(tmp_path / "w", tmp_path / f"out{i}.npz", devices=2,
                               overrides=OVERRIDES, process_id=i, num_processes=2,
                               port=port),
      env=train_testlib.runner_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True) for i in range(2)]
  try:
    logs = [p.communicate(timeout=300) for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for p, (_, err) in zip(procs, logs):
    assert p.returncode == 0, err[-4000:]
  # 2 processes x 2 local devices: a 4-device mesh spanning both processes.
  out0 = dict(np.load(tmp_path / "out0.npz"))
  out1 = dict(np.load(tmp_path / "out1.npz"))
  _compare(one_device, out0)
  for k in out0:
    if k.startswith("state"):
      np.testing.assert_array_equal(out0[k], out1[k], err_msg=k)  # Replicas agree.
  assert os.path.exists(tmp_path / "w" / "results.json")

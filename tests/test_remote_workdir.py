"""A workdir on a bucket (`gs://...`): every file of the run record goes through epath.

No network: `etils.epath.testing.mock_epath` serves `gs://bucket/...` from a
local directory (the stand-in bucket), and the test runs in an empty working
directory, so a write that bypassed epath (a plain `open` or `os.*` on the
`gs://` string) would show up there as a local `gs:` folder. Orbax writes the
checkpoints' arrays through TensorStore's own GCS driver, which a local mock
cannot serve; here the checkpoint directories are redirected to the same
stand-in bucket, and a separate test checks that `Checkpointer` hands the
`gs://` path to orbax unchanged; orbax asks google-cloud-storage about the
bucket there, answered by a stand-in client.
"""

import json
import os
import sys
import types

from etils.epath import testing as epath_testing
import pytest

import train_testlib
from ar_jax import checkpoint
from ar_jax import train

BUCKET = "gs://bucket"


@pytest.fixture(autouse=True, scope="module")
def _tiny_models():
  with train_testlib.tiny_models():
    yield


@pytest.fixture
def bucket(tmp_path, monkeypatch):
  """`gs://bucket/...` served from `tmp_path/bucket`; cwd an empty directory."""
  root = tmp_path / "bucket"
  root.mkdir()
  local = lambda p: str(p).replace(BUCKET, str(root), 1) if str(p).startswith(BUCKET) else p

  def fwd(fn, path, *args, **kwargs):
    return fn(local(path), *args, **kwargs)

  def fwd2(fn, path, dst, *args, **kwargs):
    return fn(local(path), local(dst), *args, **kwargs)

  def walk(fn, top, **kwargs):
    yield from fn(local(top), **kwargs)

  def glob(fn, pattern):
    if not str(pattern).startswith(BUCKET):
      return fn(pattern)
    return [p.replace(str(root), BUCKET, 1) for p in fn(local(pattern))]

  cwd = tmp_path / "cwd"
  cwd.mkdir()
  monkeypatch.chdir(cwd)

  def no_tensorboard(*args, **kwargs):  # Its GCS writer would need the network.
    raise ImportError("tensorboardX's gs:// writer is not available in this test")

  monkeypatch.setattr("tensorboardX.SummaryWriter", no_tensorboard)
  real_checkpointer = checkpoint.Checkpointer
  monkeypatch.setattr(checkpoint, "Checkpointer",
                      lambda d, **kw: real_checkpointer(local(d), **kw))
  fns = {k: fwd for k in ("open", "exists", "isdir", "listdir", "makedirs", "mkdir",
                          "remove", "rmtree", "stat")}
  fns.update(rename=fwd2, replace=fwd2, copy=fwd2, walk=walk, glob=glob)
  with epath_testing.mock_epath(**fns):
    yield root, cwd


def test_run_record_on_a_bucket_path(bucket):
  root, cwd = bucket
  workdir = f"{BUCKET}/runs/tiny"
  cfg = train_testlib.tiny_config()
  out = train.train_and_evaluate(cfg, workdir, stop=train_testlib.StopAfter(3))
  assert out == {"preempted": True, "step": 3}
  results = train.train_and_evaluate(cfg, workdir)  # Resumes: reads config.json back.
  assert results["resumed_from_step"] == 3 and results["steps"] == 6
  run = root / "runs" / "tiny"
  for name in ("config.json", "metrics.jsonl", "results.json", "samples.png", "curves.png"):
    assert (run / name).is_file(), name
  assert sorted(os.listdir(run / "checkpoints")) == ["2", "3", "4", "6"]
  rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in rows if r["split"] == "train"] == [1, 2, 3, 4, 5, 6]
  assert json.loads((run / "results.json").read_text())["test_nll"] == results["test_nll"]
  assert os.listdir(cwd) == []  # Nothing bypassed epath into a local "gs:" folder.


class _FakeStorageClient:
  """google.cloud.storage.Client as orbax uses it: a bucket without hierarchical namespace."""

  def get_bucket(self, name):
    return types.SimpleNamespace(name=name, hierarchical_namespace_enabled=False)


def test_checkpointer_hands_bucket_paths_to_orbax_unchanged(tmp_path, monkeypatch):
  root = tmp_path / "bucket"
  seen = []
  storage = types.ModuleType("google.cloud.storage")
  storage.Client = _FakeStorageClient
  monkeypatch.setitem(sys.modules, "google.cloud.storage", storage)
  monkeypatch.setattr("google.cloud.storage", storage, raising=False)

  def mkdir(fn, path, *args, **kwargs):
    seen.append(str(path))
    return fn(str(path).replace(BUCKET, str(root), 1), *args, **kwargs)

  with epath_testing.mock_epath(mkdir=mkdir, makedirs=mkdir,
                                exists=lambda fn, p: fn(str(p).replace(BUCKET, str(root), 1)),
                                listdir=lambda fn, p: fn(str(p).replace(BUCKET, str(root), 1)),
                                isdir=lambda fn, p: fn(str(p).replace(BUCKET, str(root), 1))):
    ckpt = checkpoint.Checkpointer(f"{BUCKET}/runs/x/checkpoints/", max_to_keep=2,
                                   async_save=False)
    try:
      assert ckpt.directory == f"{BUCKET}/runs/x/checkpoints/"  # Not made absolute.
      assert str(ckpt._mgr.directory) == f"{BUCKET}/runs/x/checkpoints"  # pylint: disable=protected-access
      assert ckpt.all_steps() == [] and ckpt.latest_step() is None
    finally:
      ckpt.close()
  assert f"{BUCKET}/runs/x/checkpoints" in seen  # Created through epath, in the bucket.
  assert (root / "runs" / "x" / "checkpoints").is_dir()

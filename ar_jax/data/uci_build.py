"""Fetching, parsing and caching the UCI tables (see `ar_jax.data.uci`).

`build` fetches the Debian package r-cran-mlbench with `apt-get download`
into `<data_dir>/downloads/` (sha256-pinned, never installed), opens it with
`dpkg-deb -x`, parses the two `.rda` members with `ar_jax.data.rda`, checks
the kept columns and their pinned content, and writes `<data_dir>/uci/<name>.npz`;
`ar_jax.data.prepare` calls it.
"""

import os

import numpy as np

from ar_jax.data import rda
from ar_jax.data import sources
from ar_jax.data import uci

MLBENCH_DEB = sources.PinnedArchive(
    filename="r-cran-mlbench_2.1-3-1_amd64.deb",
    # Measured on bookworm with `apt-get download` (1,049,188 bytes).
    sha256="2f1127f7b5e7d08703b13b52ef1976a0c355a7660d6ac575e29b87b13921bc06",
    members={
        uci.RDA_DIR + "Ionosphere.rda":
            "1e72974db40749e025434dbb45c815c826d3cce7c1b324fd07ee89aee44e08b7",
        uci.RDA_DIR + "BostonHousing.rda":
            "ba0ed85a4af37d0b89ae8742b25d8a0c79b1c132c3e25f6a413639ddbba49e1b",
    })
MLBENCH_APT_PACKAGE = "r-cran-mlbench=2.1-3-1"


def _apt_download(tmp):
  return sources.apt_download(MLBENCH_APT_PACKAGE, tmp, (
      "Ionosphere and Boston come from the Debian package r-cran-mlbench "
      "(amd64). Without apt (or on another architecture), fetch "
      f"{MLBENCH_DEB.filename} by hand (`apt-get download "
      f"{MLBENCH_APT_PACKAGE}` on an amd64 Debian 12) and put it in the "
      "downloads/ dir."))


def fetch_mlbench_deb(downloads_dir, *, allow_fetch=True):
  """Verified path of the r-cran-mlbench .deb; a bad copy is fetched again."""
  return sources.fetch_archive(MLBENCH_DEB, downloads_dir, _apt_download, allow_fetch)


def read_members(deb_path, archive=None):
  """{member path: bytes} of the pinned .rda files, each sha256-verified."""
  archive = archive or MLBENCH_DEB
  blobs = {}
  with sources.unpacked_deb(deb_path, archive) as tmp:
    for member, sha in archive.members.items():
      with open(os.path.join(tmp, member), "rb") as f:
        blobs[member] = f.read()
      sources.verify(blobs[member], sha, f"{member} in {deb_path}")
  return blobs


def select_columns(frame, spec):
  """The spec's kept columns of a parsed data.frame as float64 [N, D].

  Checks that the discrete/continuous split the spec declares is what the
  data shows, so a different upstream file cannot silently change the model.
  """
  for col in spec.columns:
    values = frame[col]
    if isinstance(values, rda.Factor) or values.dtype != np.float64:
      raise ValueError(f"{spec.name}: column {col!r} is not a double column")
    if np.all(values == np.round(values)):
      raise ValueError(f"{spec.name}: kept column {col!r} is integer-valued")
  for col in spec.dropped:
    values = frame[col]
    if not (isinstance(values, rda.Factor) or np.all(values == np.round(values))):
      raise ValueError(f"{spec.name}: dropped column {col!r} is not discrete")
  if set(frame) != set(spec.columns) | set(spec.dropped):
    raise ValueError(f"{spec.name}: columns {sorted(frame)} differ from the "
                     f"spec's {sorted(set(spec.columns) | set(spec.dropped))}")
  return np.stack([frame[c] for c in spec.columns], axis=1)


def correlated_columns(x_NxD, threshold=uci.CORRELATION_THRESHOLD):
  """Indices to drop: the later column of each pair with Pearson r > threshold.

  Greedy in column order: a column already dropped does not cause others
  to be dropped.
  """
  r_DxD = np.corrcoef(x_NxD, rowvar=False)
  drop = []
  for j in range(x_NxD.shape[1]):
    kept_before = [i for i in range(j) if i not in drop]
    if any(r_DxD[i, j] > threshold for i in kept_before):
      drop.append(j)
  return drop


def build(name, data_dir):
  """Fetches and verifies the .deb, parses, checks and caches `name`.

  Writes `<data_dir>/uci/<name>.npz` (the kept attributes before
  standardization, float64 [N, D], and their names).

  Returns:
    The path of the cache file.
  Raises:
    sources.ChecksumError: the .deb, a member or the parsed matrix is not
      the pinned one.
    RuntimeError: apt-get / dpkg-deb could not fetch or open the package.
  """
  spec = uci.get_spec(name)
  path = uci.cache_path(name, data_dir)
  deb = fetch_mlbench_deb(os.path.join(data_dir, "downloads"))
  blob = read_members(deb)[spec.member]
  frame = rda.read_data_frames(blob)[spec.r_object]
  x_NxD = select_columns(frame, spec)
  if correlated_columns(x_NxD):
    raise ValueError(f"{name}: columns {correlated_columns(x_NxD)} have r > "
                     f"{uci.CORRELATION_THRESHOLD}; the spec must drop them")
  if x_NxD.shape != (spec.num_examples, spec.num_dims):
    raise ValueError(f"{name}: parsed shape {x_NxD.shape}, expected "
                     f"{(spec.num_examples, spec.num_dims)}")
  got = uci.content_sha(x_NxD)
  if got != spec.content_sha256:
    raise sources.ChecksumError(
        f"sha256 of the parsed {name} matrix is {got}, expected "
        f"{spec.content_sha256}: the .rda reader or the data changed.")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + ".tmp.npz"
  np.savez(tmp, x=x_NxD, columns=np.array(spec.columns))
  os.replace(tmp, path)  # atomic: a killed prepare leaves no half cache
  return path



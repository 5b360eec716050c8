"""UCI Ionosphere and Boston housing, preprocessed as in RNADE (Uria et al. 2013).

Source: the Debian package r-cran-mlbench 2.1-3-1 (GPL-2; the data are the
UCI Machine Learning Repository's), fetched with `apt-get download` into
`<data_dir>/downloads/` and never installed. The package and the two `.rda`
members are sha256-pinned; the members are read with `ar_jax.data.rda`
(no R, no pandas), and the parsed matrix is pinned too.

    from ar_jax.data import uci
    uci.prepare("ionosphere")                 # once; fetches and verifies
    splits = uci.load_folds("ionosphere")     # offline from then on
    splits["fold3_train"].shape               # float32 [280, 32]

Preprocessing (see experiments/PAPER_NUMBERS.md for what the paper says and
what could be confirmed):
  1. Discrete-valued attributes are removed: factor columns (Ionosphere V1
     binary, V2 constant, Class; Boston chas) and integer-valued ones
     (Boston rad, tax).
  2. Of every pair of remaining attributes with Pearson correlation > 0.98
     (over the whole data set) the later one is removed. No pair reaches
     0.98 in these two sets (max |r|: Ionosphere 0.83, Boston 0.77), so this
     step removes nothing here; it is kept so the rule is explicit.
  3. Folds: rows are permuted with `np.random.default_rng(FOLD_SEED)` and cut
     into 10 contiguous parts of floor(N/10) rows, the last part taking the
     remainder (the layout of the authors' red_wine.hdf5 in MarcCote/NADE).
     Fold k tests on part k, validates on the last remaining part (part 9,
     or part 8 when k = 9) and trains on the other 8 parts: 80/10/10.
  4. Each attribute is standardized with the mean and standard deviation
     (ddof 0) of the fold's TRAIN split, applied to all three splits.

The number to report is the test log-likelihood per example in nats,
averaged over the 10 folds (experiments/reproduce_uci.py).
"""

import dataclasses
import os
import shutil
import subprocess
import tempfile

import numpy as np

from ar_jax.data import rda
from ar_jax.data import sources
from ar_jax.data import specs

_RDA_DIR = "usr/lib/R/site-library/mlbench/data/"
MLBENCH_DEB = sources.PinnedArchive(
    filename="r-cran-mlbench_2.1-3-1_amd64.deb",
    # Measured on bookworm with `apt-get download` (1,049,188 bytes).
    sha256="2f1127f7b5e7d08703b13b52ef1976a0c355a7660d6ac575e29b87b13921bc06",
    members={
        _RDA_DIR + "Ionosphere.rda":
            "1e72974db40749e025434dbb45c815c826d3cce7c1b324fd07ee89aee44e08b7",
        _RDA_DIR + "BostonHousing.rda":
            "ba0ed85a4af37d0b89ae8742b25d8a0c79b1c132c3e25f6a413639ddbba49e1b",
    })
MLBENCH_APT_PACKAGE = "r-cran-mlbench=2.1-3-1"

NUM_FOLDS = 10
FOLD_SEED = 0
CORRELATION_THRESHOLD = 0.98
SPLIT_KINDS = ("train", "validation", "test")
CACHE_DIR = "uci"  # under the data dir: <data_dir>/uci/<name>.npz
_LICENSE = ("GPL-2 (Debian package r-cran-mlbench); data from the UCI Machine "
            "Learning Repository")


@dataclasses.dataclass(frozen=True)
class UciSpec:
  """A preprocessed UCI data set.

  Attributes:
    name: key in `DATASETS` (and in the ar_jax data registry).
    member: the .rda file inside the .deb.
    r_object: the data.frame's name inside the .rda.
    num_examples: N, all folds together.
    num_dims: D after removing discrete and correlated attributes.
    columns: the D kept attributes, in model order.
    dropped: removed attribute -> why.
    content_sha256: sha256 of the kept [N, D] float64 matrix (little-endian,
      C order, file row order), so a parser change cannot go unnoticed.
    description: one paragraph.
    license: of the package / the data.
  """
  name: str
  member: str
  r_object: str
  num_examples: int
  num_dims: int
  columns: tuple
  dropped: dict
  content_sha256: str
  description: str
  license: str = _LICENSE

  @property
  def splits(self):
    """Split name -> number of rows (same sizes as `load_folds` returns)."""
    part_size = _part_sizes(self.num_examples)
    sizes = {f"fold{k}_{kind}": sum(part_size[p] for p in parts)
             for k in range(NUM_FOLDS) for kind, parts in _fold_parts(k).items()}
    for kind in SPLIT_KINDS:
      sizes[kind] = sizes[f"fold0_{kind}"]
    return sizes


DATASETS = {
    "ionosphere": UciSpec(
        name="ionosphere", member=_RDA_DIR + "Ionosphere.rda",
        r_object="Ionosphere", num_examples=351, num_dims=32,
        columns=tuple(f"V{i}" for i in range(3, 35)),
        dropped={"V1": "discrete (binary factor)",
                 "V2": "discrete (factor, constant 0)",
                 "Class": "discrete (label factor good/bad)"},
        content_sha256="4514b1d131e606536a38759281e16876f1e47b61a256838285c366aab15b723e",
        description=(
            "UCI Ionosphere (radar returns, Goose Bay, Labrador): 351 rows, "
            "the 32 continuous attributes V3..V34 in [-1, 1]; 10 seeded "
            "folds, 80/10/10 train/validation/test, standardized with the "
            "fold's train statistics (RNADE, Uria et al. 2013).")),
    "boston": UciSpec(
        name="boston", member=_RDA_DIR + "BostonHousing.rda",
        r_object="BostonHousing", num_examples=506, num_dims=11,
        columns=("crim", "zn", "indus", "nox", "rm", "age", "dis", "ptratio",
                 "b", "lstat", "medv"),
        dropped={"chas": "discrete (binary factor)",
                 "rad": "discrete (integer index, 9 values)",
                 "tax": "discrete (integer-valued, 66 values)"},
        content_sha256="b3776aed4c2ac4a1eb95300476480fc7f86d108a53aeb313d2dd7eaf2130a9cc",
        description=(
            "UCI Boston housing (Harrison & Rubinfeld 1978): 506 rows, 11 "
            "continuous attributes including the target medv; 10 seeded "
            "folds, 80/10/10, standardized with the fold's train statistics "
            "(RNADE, Uria et al. 2013). Note: scikit-learn removed this set "
            "in 1.2 over the racially derived attribute 'b', kept here only "
            "to reproduce the published density-estimation table.")),
}


def split_names():
  """All split names `load_folds` returns: fold{k}_{kind} and the fold-0 aliases."""
  return [f"fold{k}_{kind}" for k in range(NUM_FOLDS) for kind in SPLIT_KINDS] + list(
      SPLIT_KINDS)


def get_spec(name):
  try:
    return DATASETS[name]
  except KeyError:
    raise KeyError(f"unknown UCI data set {name!r}; known: {sorted(DATASETS)}") from None


# --- Fetching and reading --------------------------------------------------

def _apt_download(tmp):
  return sources.apt_download(MLBENCH_APT_PACKAGE, tmp, (
      "Ionosphere and Boston come from the Debian package r-cran-mlbench "
      "(amd64). Without apt (or on another architecture), fetch "
      f"{MLBENCH_DEB.filename} by hand (`apt-get download "
      f"{MLBENCH_APT_PACKAGE}` on an amd64 Debian 12) and put it in the "
      "downloads/ dir."))


def fetch_mlbench_deb(downloads_dir, *, allow_fetch=True):
  """Verified path of the r-cran-mlbench .deb; a bad copy is fetched again."""
  # sources._fetch: verify a kept copy, re-fetch a bad one, as for the images.
  fetch = sources._fetch  # pylint: disable=protected-access
  return fetch(MLBENCH_DEB, downloads_dir, _apt_download, allow_fetch)


def read_members(deb_path, archive=None):
  """{member path: bytes} of the pinned .rda files, each sha256-verified."""
  archive = archive or MLBENCH_DEB
  sources.verify(deb_path, archive.sha256, deb_path)
  if shutil.which("dpkg-deb") is None:
    raise RuntimeError("dpkg-deb not found: it is needed to open the "
                       "r-cran-mlbench .deb (apt-get install dpkg).")
  blobs = {}
  with tempfile.TemporaryDirectory() as tmp:
    proc = subprocess.run(["dpkg-deb", "-x", deb_path, tmp],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
      raise RuntimeError(f"dpkg-deb -x {deb_path} failed: {proc.stderr}")
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


def correlated_columns(x_NxD, threshold=CORRELATION_THRESHOLD):
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


def _content_sha(x_NxD):
  return sources.sha256_of(np.ascontiguousarray(x_NxD, "<f8").tobytes())


def _cache_path(name, data_dir):
  return os.path.join(data_dir, CACHE_DIR, f"{name}.npz")


def is_prepared(name, *, data_dir=None):
  """True if `prepare(name)` has written its cache in `data_dir`."""
  get_spec(name)
  return os.path.exists(_cache_path(name, specs.resolve_data_dir(data_dir)))


def prepare(name, data_dir=None):
  """Fetches and verifies the .deb, parses, checks and caches `name`.

  Writes `<data_dir>/uci/<name>.npz` (the kept attributes before
  standardization, float64 [N, D], and their names); a no-op when present.

  Returns:
    The path of the cache file.
  Raises:
    sources.ChecksumError: the .deb, a member or the parsed matrix is not
      the pinned one.
    RuntimeError: apt-get / dpkg-deb could not fetch or open the package.
  """
  spec = get_spec(name)
  data_dir = specs.resolve_data_dir(data_dir)
  path = _cache_path(name, data_dir)
  if os.path.exists(path):
    return path
  deb = fetch_mlbench_deb(os.path.join(data_dir, "downloads"))
  blob = read_members(deb)[spec.member]
  frame = rda.read_data_frames(blob)[spec.r_object]
  x_NxD = select_columns(frame, spec)
  if correlated_columns(x_NxD):
    raise ValueError(f"{name}: columns {correlated_columns(x_NxD)} have r > "
                     f"{CORRELATION_THRESHOLD}; the spec must drop them")
  if x_NxD.shape != (spec.num_examples, spec.num_dims):
    raise ValueError(f"{name}: parsed shape {x_NxD.shape}, expected "
                     f"{(spec.num_examples, spec.num_dims)}")
  got = _content_sha(x_NxD)
  if got != spec.content_sha256:
    raise sources.ChecksumError(
        f"sha256 of the parsed {name} matrix is {got}, expected "
        f"{spec.content_sha256}: the .rda reader or the data changed.")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + ".tmp.npz"
  np.savez(tmp, x=x_NxD, columns=np.array(spec.columns))
  os.replace(tmp, path)  # atomic: a killed prepare leaves no half cache
  return path


# --- Folds -----------------------------------------------------------------

def _part_sizes(n):
  base = n // NUM_FOLDS
  return [base] * (NUM_FOLDS - 1) + [n - base * (NUM_FOLDS - 1)]


def _fold_parts(k):
  if not 0 <= k < NUM_FOLDS:
    raise ValueError(f"fold {k} out of range [0, {NUM_FOLDS})")
  rest = [p for p in range(NUM_FOLDS) if p != k]
  return {"train": rest[:-1], "validation": rest[-1:], "test": [k]}


def fold_indices(n, k, seed=FOLD_SEED):
  """{"train"|"validation"|"test": row indices} of fold k of n rows."""
  perm = np.random.default_rng(seed).permutation(n)
  bounds = np.cumsum([0] + _part_sizes(n))
  parts = [perm[bounds[p]:bounds[p + 1]] for p in range(NUM_FOLDS)]
  return {kind: np.concatenate([parts[p] for p in ps])
          for kind, ps in _fold_parts(k).items()}


def make_folds(x_NxD, seed=FOLD_SEED):
  """Every split of `load_folds` from an unstandardized [N, D] matrix."""
  out = {}
  for k in range(NUM_FOLDS):
    idx = fold_indices(len(x_NxD), k, seed)
    train = x_NxD[idx["train"]]
    mean_D, std_D = train.mean(axis=0), train.std(axis=0)
    if np.any(std_D == 0):
      raise ValueError(f"fold {k}: attributes {np.flatnonzero(std_D == 0)} "
                       "are constant on the train split; cannot standardize")
    for kind in SPLIT_KINDS:
      out[f"fold{k}_{kind}"] = ((x_NxD[idx[kind]] - mean_D) / std_D).astype(np.float32)
  for kind in SPLIT_KINDS:
    out[kind] = out[f"fold0_{kind}"]
  return out


def load_folds(name, data_dir=None):
  """All splits of a prepared UCI set, standardized per fold.

  Args:
    name: "ionosphere" or "boston".
    data_dir: defaults to `$AR_JAX_DATA_DIR` or `~/.cache/ar_jax/data`.
  Returns:
    {split name: float32 [rows, D]} for `fold{k}_train`, `fold{k}_validation`,
    `fold{k}_test` (k = 0..9) and the aliases `train`/`validation`/`test`
    (fold 0). Folds are fixed by `FOLD_SEED` (see the module docstring).
  Raises:
    DatasetNotPreparedError: not prepared; the message gives the command.
  """
  spec = get_spec(name)
  data_dir = specs.resolve_data_dir(data_dir)
  path = _cache_path(name, data_dir)
  if not os.path.exists(path):
    raise specs.not_prepared_error(name, data_dir, f"no {path}")
  with np.load(path, allow_pickle=False) as f:
    x_NxD = f["x"]
  if _content_sha(x_NxD) != spec.content_sha256:
    raise sources.ChecksumError(
        f"{path} does not hold the pinned {name} data; delete it and run "
        f"`{specs.PREPARE_COMMAND} {name}` again.")
  return make_folds(x_NxD)


def load_split(name, split, data_dir=None):
  """One split of `load_folds` (e.g. "fold3_test" or "train"), float32 [rows, D]."""
  if split not in split_names():
    raise ValueError(f"unknown split {split!r} for {name!r}; expected fold{{k}}_"
                     f"{{train|validation|test}} with k in 0..{NUM_FOLDS - 1}, or "
                     f"train/validation/test (= fold 0)")
  return load_folds(name, data_dir)[split]

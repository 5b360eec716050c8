"""UCI Ionosphere and Boston housing, preprocessed as in RNADE (Uria et al. 2013).

Source: the Debian package r-cran-mlbench 2.1-3-1 (GPL-2; the data are the
UCI Machine Learning Repository's), fetched with `apt-get download` into
`<data_dir>/downloads/` and never installed. The package and the two `.rda`
members are sha256-pinned; the members are read with `ar_jax.data.rda`
(no R, no pandas), and the parsed matrix is pinned too: every load checks
it, so the cache needs no separate checksum manifest.

    python -m ar_jax.data.prepare ionosphere  # once; fetches and verifies
    from ar_jax.data import uci
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
averaged over the 10 folds (`experiments/reproduce.py --table uci`).

This module is the read side (specs, folds, `load_split`); fetching, parsing
and caching are in `ar_jax.data.uci_build`.
"""

import dataclasses
import hashlib
import os

import numpy as np

from ar_jax.data import integrity
from ar_jax.data import specs

RDA_DIR = "usr/lib/R/site-library/mlbench/data/"
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
        name="ionosphere", member=RDA_DIR + "Ionosphere.rda",
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
        name="boston", member=RDA_DIR + "BostonHousing.rda",
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


def content_sha(x_NxD):
  return hashlib.sha256(np.ascontiguousarray(x_NxD, "<f8").tobytes()).hexdigest()


def cache_path(name, data_dir):
  return os.path.join(data_dir, CACHE_DIR, f"{name}.npz")


def is_prepared(name, *, data_dir=None):
  """True if `prepare(name)` has written its cache in `data_dir`."""
  get_spec(name)
  return os.path.exists(cache_path(name, specs.resolve_data_dir(data_dir)))


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


def _read_cache(name, path, data_dir):
  """The cached [N, D] matrix, checked against the pinned content sha256."""
  try:
    with np.load(path, allow_pickle=False) as f:
      x_NxD = f["x"]
  except Exception as e:  # pylint: disable=broad-except
    raise integrity.damaged(name, path, data_dir,
                            f"cannot be read ({type(e).__name__}: {e})") from e
  got = content_sha(x_NxD)
  if got != get_spec(name).content_sha256:
    raise integrity.damaged(name, path, data_dir, f"content sha256 {got}, pinned "
                            f"{get_spec(name).content_sha256}")
  return x_NxD


def verify_prepared(name, splits=None, *, data_dir=None):
  """Checks the cache of `name` against its pinned content (all splits share it).

  Raises:
    DatasetNotPreparedError: not prepared; the message gives the command.
    DataIntegrityError: the cache is damaged; the message gives the fix.
  """
  del splits
  data_dir = specs.resolve_data_dir(data_dir)
  path = cache_path(name, data_dir)
  if not os.path.exists(path):
    raise specs.not_prepared_error(name, data_dir, f"no {path}")
  _read_cache(name, path, data_dir)


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
    DataIntegrityError: the cache is damaged; the message gives the fix.
  """
  get_spec(name)
  data_dir = specs.resolve_data_dir(data_dir)
  path = cache_path(name, data_dir)
  if not os.path.exists(path):
    raise specs.not_prepared_error(name, data_dir, f"no {path}")
  x_NxD = _read_cache(name, path, data_dir)
  return make_folds(x_NxD)


def load_split(name, split, data_dir=None):
  """One split of `load_folds` (e.g. "fold3_test" or "train"), float32 [rows, D]."""
  if split not in split_names():
    raise ValueError(f"unknown split {split!r} for {name!r}; expected fold{{k}}_"
                     f"{{train|validation|test}} with k in 0..{NUM_FOLDS - 1}, or "
                     f"train/validation/test (= fold 0)")
  return load_folds(name, data_dir)[split]

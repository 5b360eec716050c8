"""What a dataset holds (`DatasetSpec`, `Feature`), declared without any data.

The registered datasets are in `ar_jax.data.registry`; this module imports
none of them.

A `DatasetSpec` lists the dataset's features (name, dtype, per-example shape,
`num_classes` for discrete values or `value_range` for real ones), which
feature is modelled (`x`), whether a split is a set of examples or one token
stream (`kind`), and its load-time preprocessing by name. A trainer reads
everything it needs from the spec before touching the disk.

Kinds:
- "examples": every feature has a leading example axis `[N, ...]`
  (images, real-valued vectors, class labels).
- "stream": every feature has a leading position axis `[N, ...]`; models see
  windows of `config.data.seq_len` consecutive positions (token sequences,
  audio; a per-position feature can be a conditioning sequence).

Preprocessing, one vocabulary for the whole package ("fixed", "dynamic",
"threshold", "none"); a spec's value says how its stored `x` was made:
"fixed" (binarized once at build time, stored), "threshold" (k >= 128,
applied on load) or "none" (as stored). "dynamic" is never stored: the
trainer draws it per step (`config.data.binarization`).

Sources: "tfds" (a TFDS builder in the data dir, `tfds_name`), "synthetic"
(`ar_jax.data.synthetic`, sized by its name), or a loader
"module:function" with signature `f(name, split, data_dir)` returning
`{feature: array}` (or just the `x` array) for datasets that need their own
reader (text and audio streams, the UCI tables). A loader-backed spec with a
`tfds_name` is stored as TFDS files in `prepared_dir`; one without is a
table whose module checks its own pinned content (`verify_prepared`).
"""

import dataclasses
import os

import numpy as np

ENV_DATA_DIR = "AR_JAX_DATA_DIR"
PREPARE_COMMAND = "python -m ar_jax.data.prepare"
TFDS_VERSION = "1.0.0"  # Version of every TFDS dataset ar_jax builds.
PREPROCESSING = ("fixed", "threshold", "none")  # How a stored x was made.
KINDS = ("examples", "stream")


class DatasetNotPreparedError(FileNotFoundError):
  """A dataset is not built in the data dir; the message says how to build it."""


@dataclasses.dataclass(frozen=True)
class Feature:
  """One feature of a dataset, per example (or per position of a stream).

  Attributes:
    name: key in the dict `load_split` returns.
    dtype: numpy dtype name of the loaded array ("uint8", "int32", "float32").
    shape: per-example shape (`()` for a scalar such as a class label).
    num_classes: discrete features: values lie in [0, num_classes).
    value_range: real features: (low, high) if bounded, else None.
    hop: stream features: positions per stored row. 1 = one row per position;
      80 = a lower-rate feature with row j describing positions
      [80 j, 80 j + 80) (log-mel frames of 8 kHz audio). Windows of such a
      stream start at multiples of `hop` and hold seq_len / hop rows of it.
  """
  name: str
  dtype: str
  shape: tuple = ()
  num_classes: int | None = None
  value_range: tuple | None = None
  hop: int = 1

  @property
  def is_discrete(self):
    return np.issubdtype(np.dtype(self.dtype), np.integer)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """What a dataset looks like.

  Attributes:
    name: key in `DATASETS` (or a prepared TFDS name, or a synthetic name).
    features: the `Feature`s `load_split` returns.
    splits: split name -> number of examples (positions for a stream).
    description: one paragraph, including how it is made.
    x: the feature a model is trained on.
    kind: "examples" or "stream" (module docstring).
    preprocessing: how the stored x was made: "fixed", "threshold", "none".
    source: "tfds", "synthetic" or a loader "module:function".
    tfds_name: the TFDS dataset holding the stored data (source "tfds", or a
      loader that reads TFDS files); "" for data stored otherwise.
    split_aliases: split name -> TFDS split expression (e.g. a slice of train).
  """
  name: str
  features: tuple
  splits: dict
  description: str
  x: str = "image"
  kind: str = "examples"
  preprocessing: str = "none"
  source: str = "tfds"
  tfds_name: str = ""
  split_aliases: dict = dataclasses.field(default_factory=dict)

  def feature(self, name):
    """The `Feature` called `name`; a readable KeyError if there is none."""
    for f in self.features:
      if f.name == name:
        return f
    raise KeyError(f"dataset {self.name!r} has no feature {name!r}; its features "
                   f"are {[f.name for f in self.features]}")

  @property
  def input_shape(self):
    """Shape of one example of `x`."""
    return tuple(self.feature(self.x).shape)

  @property
  def num_classes(self):
    """Values per element of `x` (2 binary, 256 8-bit); None if real-valued."""
    return self.feature(self.x).num_classes


def image_features(num_classes, shape=(28, 28, 1), num_labels=10):
  """`image` (uint8) and `label` (int32) features of a labelled image set."""
  return (Feature("image", "uint8", tuple(shape), num_classes=num_classes),
          Feature("label", "int32", (), num_classes=num_labels))


def default_data_dir():
  """`$AR_JAX_DATA_DIR`, else `~/.cache/ar_jax/data`."""
  return os.environ.get(ENV_DATA_DIR) or os.path.join(
      os.path.expanduser("~"), ".cache", "ar_jax", "data")


def resolve_data_dir(data_dir):
  return os.path.abspath(os.path.expanduser(data_dir or default_data_dir()))


def prepared_dir(spec, data_dir):
  """`<data_dir>/<tfds_name>/<version>`: where ar_jax builds `spec`'s TFDS files."""
  return os.path.join(resolve_data_dir(data_dir), spec.tfds_name, TFDS_VERSION)


def prepare_command(name, data_dir, *, force=False):
  """The shell command that prepares (or with `force`, rebuilds) `name`."""
  flag = "" if data_dir == resolve_data_dir(None) else f" --data_dir={data_dir}"
  return f"{PREPARE_COMMAND} {name}{' --force' if force else ''}{flag}"


def not_prepared_error(name, data_dir, detail=""):
  """The error for a dataset that is not in `data_dir`, with the fix."""
  msg = (f"Dataset {name!r} is not prepared in {data_dir}. Prepare it with:\n"
         f"  {prepare_command(name, data_dir)}")
  if detail:
    msg += f"\n({detail})"
  return DatasetNotPreparedError(msg)

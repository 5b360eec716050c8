"""Dataset registry: what each dataset holds, declared without importing TFDS.

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
`{feature: array}` (or just the `x` array) for datasets that are not TFDS
builders (the UCI tables); its module also has `prepare(name, data_dir=...)`
and `is_prepared(name, data_dir=...)`.
"""

import dataclasses
import importlib.util
import os

import numpy as np

ENV_DATA_DIR = "AR_JAX_DATA_DIR"
PREPARE_COMMAND = "python -m ar_jax.data.prepare"
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
    tfds_name: the TFDS builder holding the stored data (source "tfds").
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


_MNIST_SPLITS = {"train": 50000, "validation": 10000, "test": 10000}
# Fashion-MNIST ships 60k/10k; "validation" is the LAST 10k of the official
# train split, so it overlaps "train". Hold it out with split="train[:50000]".
_FASHION_SPLITS = {"train": 60000, "validation": 10000, "test": 10000}
_FASHION_ALIASES = {"validation": "train[50000:]"}
_NOT_COMPARABLE = (
    "NLLs under fixed, dynamic and threshold binarization are different "
    "benchmarks and must not be compared with each other.")

DATASETS = {
    "binarized_mnist": DatasetSpec(
        name="binarized_mnist", features=image_features(2),
        splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k (Theano mnist.pkl.gz split), binarized ONCE: "
            "pixel ~ Bernoulli(k/256) with numpy.random.default_rng([0, s]) "
            "(PCG64), s = 0/1/2 for train/validation/test. " + _NOT_COMPARABLE),
        preprocessing="fixed", tfds_name="ar_jax_binarized_mnist"),
    "binarized_mnist_thresholded": DatasetSpec(
        name="binarized_mnist_thresholded", features=image_features(2),
        splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k thresholded: pixel = intensity >= 0.5 "
            "(k >= 128), derived on load from mnist_8bit. " + _NOT_COMPARABLE),
        preprocessing="threshold", tfds_name="ar_jax_mnist_8bit"),
    "mnist_8bit": DatasetSpec(
        name="mnist_8bit", features=image_features(256),
        splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k, uint8 pixels k = round(256 * x), lossless. "
            "Source for dynamic binarization (ar_jax.data.binarize)."),
        tfds_name="ar_jax_mnist_8bit"),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist", features=image_features(256),
        splits=dict(_FASHION_SPLITS),
        description=(
            "Fashion-MNIST (Zalando, MIT) 60k/10k, uint8 0..255. 'validation' "
            "is train[50000:] (a subset of train); use split='train[:50000]' "
            "to hold it out."),
        tfds_name="ar_jax_fashion_mnist", split_aliases=dict(_FASHION_ALIASES)),
    "binarized_fashion_mnist": DatasetSpec(
        name="binarized_fashion_mnist", features=image_features(2),
        splits=dict(_FASHION_SPLITS),
        description=(
            "Fashion-MNIST binarized ONCE: pixel ~ Bernoulli(k/256) with "
            "numpy.random.default_rng([0, s]), s = 0/2 for train/test; "
            "'validation' is train[50000:]. " + _NOT_COMPARABLE),
        preprocessing="fixed", tfds_name="ar_jax_binarized_fashion_mnist",
        split_aliases=dict(_FASHION_ALIASES)),
}


def real_vector_spec(name, num_dims, splits, description, loader):
  """A real-valued vector dataset: one float32 feature `x` of shape (D,).

  Real-valued data take preprocessing "none" (identity); any standardization
  belongs to the loader, which is documented with the dataset.
  """
  return DatasetSpec(
      name=name, features=(Feature("x", "float32", (int(num_dims),)),),
      splits=dict(splits), description=description, x="x",
      preprocessing="none", source=loader)


def _register_uci():
  """Ionosphere and Boston housing, once `ar_jax/data/uci.py` (wp-uci) exists.

  It provides `DATASETS = {name: UciSpec}` (with `num_dims`, `splits`,
  `description`), `load_split(name, split, data_dir) -> float32 [N, D]`
  (splits `fold{k}_train|validation|test`, and train/validation/test =
  fold 0), `prepare(name, data_dir=...)` and `is_prepared(name, data_dir=...)`.
  Each table is then one real-valued spec; the trainer is not touched.
  """
  if importlib.util.find_spec("ar_jax.data.uci") is None:
    return  # Not merged yet: the two names are simply not registered.
  from ar_jax.data import uci  # pylint: disable=import-outside-toplevel
  for name, u in uci.DATASETS.items():
    DATASETS[name] = real_vector_spec(name, u.num_dims, u.splits, u.description,
                                      loader="ar_jax.data.uci:load_split")


_register_uci()


def _register_module_datasets():
  """Datasets defined in their own modules: `shakespeare_char`
  (`ar_jax.data.shakespeare`) and `asterisk_speech` (`ar_jax.data.speech`).
  Imported here, once DATASETS exists, to avoid an import cycle."""
  # pylint: disable=import-outside-toplevel
  from ar_jax.data import shakespeare, speech
  for module in (shakespeare, speech):
    DATASETS[module.NAME] = module.spec()


_register_module_datasets()


def default_data_dir():
  """`$AR_JAX_DATA_DIR`, else `~/.cache/ar_jax/data`."""
  return os.environ.get(ENV_DATA_DIR) or os.path.join(
      os.path.expanduser("~"), ".cache", "ar_jax", "data")


def resolve_data_dir(data_dir):
  return os.path.abspath(os.path.expanduser(data_dir or default_data_dir()))


def not_prepared_error(name, data_dir, detail=""):
  """The error for a dataset that is not in `data_dir`, with the fix."""
  flag = "" if data_dir == resolve_data_dir(None) else f" --data_dir={data_dir}"
  msg = (f"Dataset {name!r} is not prepared in {data_dir}. Prepare it with:\n"
         f"  {PREPARE_COMMAND} {name}{flag}")
  if detail:
    msg += f"\n({detail})"
  return DatasetNotPreparedError(msg)

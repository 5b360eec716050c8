"""Dataset registry: names, shapes and splits, without importing TFDS.

`DATASETS[name]` tells a trainer everything it needs before touching the disk:
`input_shape` and `num_classes` (number of values a pixel takes, i.e. the
`num_classes` of the model's output distribution: 2 binary, 256 for 8-bit).
`num_labels` is the number of class labels (10 for both MNISTs), which only
`load_split(..., with_labels=True)` returns.

Each name is backed by one TFDS builder (`tfds_name`) stored under the data
dir; `binarized_mnist_thresholded` is derived on load from `mnist_8bit`.
"""

import dataclasses
import os

ENV_DATA_DIR = "AR_JAX_DATA_DIR"
PREPARE_COMMAND = "python -m ar_jax.data.prepare"


class DatasetNotPreparedError(FileNotFoundError):
  """A dataset is not built in the data dir; the message says how to build it."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """What a dataset looks like.

  Attributes:
    name: key in `DATASETS`.
    input_shape: per-example shape `(H, W, C)`.
    num_classes: number of pixel values (2 for binary, 256 for 8-bit).
    splits: split name -> number of examples.
    description: one paragraph, including how it is made.
    num_labels: number of class labels.
    binarization: None (8-bit), "fixed" or "thresholded". Dynamic
      binarization is not a stored dataset: see `ar_jax.data.binarize`.
    tfds_name: the TFDS builder holding the stored data.
    split_aliases: split name -> TFDS split expression (e.g. a slice of train).
  """
  name: str
  input_shape: tuple
  num_classes: int
  splits: dict
  description: str
  num_labels: int = 10
  binarization: str | None = None
  tfds_name: str = ""
  split_aliases: dict = dataclasses.field(default_factory=dict)


_MNIST_SPLITS = {"train": 50000, "validation": 10000, "test": 10000}
# Fashion-MNIST ships 60k/10k; "validation" is the LAST 10k of the official
# train split, so it overlaps "train". Hold it out with split="train[:50000]".
_FASHION_SPLITS = {"train": 60000, "validation": 10000, "test": 10000}
_FASHION_ALIASES = {"validation": "train[50000:]"}
_NOT_COMPARABLE = (
    "NLLs under fixed, dynamic and thresholded binarization are different "
    "benchmarks and must not be compared with each other.")

DATASETS = {
    "binarized_mnist": DatasetSpec(
        name="binarized_mnist", input_shape=(28, 28, 1), num_classes=2,
        splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k (Theano mnist.pkl.gz split), binarized ONCE: "
            "pixel ~ Bernoulli(k/256) with numpy.random.default_rng([0, s]) "
            "(PCG64), s = 0/1/2 for train/validation/test. " + _NOT_COMPARABLE),
        binarization="fixed", tfds_name="ar_jax_binarized_mnist"),
    "binarized_mnist_thresholded": DatasetSpec(
        name="binarized_mnist_thresholded", input_shape=(28, 28, 1),
        num_classes=2, splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k thresholded: pixel = intensity >= 0.5 "
            "(k >= 128), derived on load from mnist_8bit. " + _NOT_COMPARABLE),
        binarization="thresholded", tfds_name="ar_jax_mnist_8bit"),
    "mnist_8bit": DatasetSpec(
        name="mnist_8bit", input_shape=(28, 28, 1), num_classes=256,
        splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k, uint8 pixels k = round(256 * x), lossless. "
            "Source for dynamic binarization (ar_jax.data.binarize)."),
        tfds_name="ar_jax_mnist_8bit"),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist", input_shape=(28, 28, 1), num_classes=256,
        splits=dict(_FASHION_SPLITS),
        description=(
            "Fashion-MNIST (Zalando, MIT) 60k/10k, uint8 0..255. 'validation' "
            "is train[50000:] (a subset of train); use split='train[:50000]' "
            "to hold it out."),
        tfds_name="ar_jax_fashion_mnist", split_aliases=dict(_FASHION_ALIASES)),
    "binarized_fashion_mnist": DatasetSpec(
        name="binarized_fashion_mnist", input_shape=(28, 28, 1), num_classes=2,
        splits=dict(_FASHION_SPLITS),
        description=(
            "Fashion-MNIST binarized ONCE: pixel ~ Bernoulli(k/256) with "
            "numpy.random.default_rng([0, s]), s = 0/2 for train/test; "
            "'validation' is train[50000:]. " + _NOT_COMPARABLE),
        binarization="fixed", tfds_name="ar_jax_binarized_fashion_mnist",
        split_aliases=dict(_FASHION_ALIASES)),
}


def default_data_dir():
  """`$AR_JAX_DATA_DIR`, else `~/.cache/ar_jax/data`."""
  return os.environ.get(ENV_DATA_DIR) or os.path.join(
      os.path.expanduser("~"), ".cache", "ar_jax", "data")


def resolve_data_dir(data_dir):
  return os.path.abspath(os.path.expanduser(data_dir or default_data_dir()))


def get_spec(name):
  """The `DatasetSpec` for `name`; a readable KeyError if unknown."""
  try:
    return DATASETS[name]
  except KeyError:
    raise KeyError(f"Unknown ar_jax dataset {name!r}; known: "
                   f"{sorted(DATASETS)}") from None


def not_prepared_error(name, data_dir, detail=""):
  """The error for a dataset that is not in `data_dir`, with the fix."""
  flag = "" if data_dir == resolve_data_dir(None) else f" --data_dir={data_dir}"
  msg = (f"Dataset {name!r} is not prepared in {data_dir}. Prepare it with:\n"
         f"  {PREPARE_COMMAND} {name}{flag}")
  if detail:
    msg += f"\n({detail})"
  return DatasetNotPreparedError(msg)

"""Datasets for ar_jax: offline-verifiable sources, TFDS builders, loaders.

    from ar_jax import data
    data.prepare("binarized_mnist")          # or: python -m ar_jax.data.prepare
    x = data.load_split("binarized_mnist", "train")   # uint8 [50000, 28, 28, 1]
    spec = data.DATASETS["binarized_mnist"]           # shapes, num_classes, splits

`DATASETS`, `DatasetSpec`, the errors and the binarization functions import
without TFDS; `load_split`, `grain_dataset` and `prepare` import TFDS (and
grain) on first use. See docs/data.md for sources, checksums and licences.
"""

import importlib

from ar_jax.data.binarization import binarize
from ar_jax.data.binarization import fixed_binarize
from ar_jax.data.binarization import threshold
from ar_jax.data.sources import ChecksumError
from ar_jax.data.specs import DATASETS
from ar_jax.data.specs import DatasetNotPreparedError
from ar_jax.data.specs import DatasetSpec
from ar_jax.data.specs import default_data_dir

_LAZY = {  # public name -> module defining it (imports TFDS / grain)
    "load_split": "ar_jax.data.pipeline",
    "grain_dataset": "ar_jax.data.pipeline",
    "shard_bounds": "ar_jax.data.pipeline",
    "prepare": "ar_jax.data.prepare_lib",
    "is_prepared": "ar_jax.data.prepare_lib",
}

__all__ = ["DATASETS", "DatasetSpec", "DatasetNotPreparedError",
           "ChecksumError", "binarize", "fixed_binarize", "threshold",
           "default_data_dir", *_LAZY]


def __getattr__(name):
  if name in _LAZY:
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # cache; never shadowed by a submodule of the name
    return value
  raise AttributeError(f"module 'ar_jax.data' has no attribute {name!r}")


def __dir__():
  return sorted(set(globals()) | set(__all__))

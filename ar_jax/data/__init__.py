"""Datasets for ar_jax: declared specs, offline-verifiable sources, one loader.

    from ar_jax import data
    data.prepare("binarized_mnist")          # or: python -m ar_jax.data.prepare
    spec = data.get_spec("binarized_mnist")  # features, splits, preprocessing
    arrays = data.load_split("binarized_mnist", "train")
    arrays["image"], arrays["label"]         # uint8 [50000, 28, 28, 1], int32 [50000]
    data.verify_prepared("binarized_mnist", ["train", "test"])  # checksums

Every kind of data goes through `load_split` (a dict feature -> array): the
ar_jax image sets, standard TFDS sets prepared in the data dir (`cifar10`),
loader-backed tables (UCI) and the synthetic sets. The registry is
`ar_jax.data.registry`; the trainer's side (config -> batches) is
`ar_jax.data.pipeline`. This package imports without TFDS and without the
fetching and building code; reading a TFDS-backed set and `prepare` import
them on first use. A damaged prepared file raises `DataIntegrityError`,
naming the dataset, the file and the command that rebuilds it.
See docs/data.md for sources, checksums and licences.
"""

import importlib

from ar_jax.data.binarization import binarize
from ar_jax.data.binarization import fixed_binarize
from ar_jax.data.binarization import threshold
from ar_jax.data.integrity import DataIntegrityError
from ar_jax.data.reading import get_spec
from ar_jax.data.reading import load_split
from ar_jax.data.reading import shard_bounds
from ar_jax.data.reading import verify_prepared
from ar_jax.data.registry import DATASETS
from ar_jax.data.specs import DatasetNotPreparedError
from ar_jax.data.specs import DatasetSpec
from ar_jax.data.specs import default_data_dir
from ar_jax.data.specs import Feature

_LAZY = {  # public name -> module defining it (fetching and building; TFDS)
    "prepare": "ar_jax.data.prepare_lib",
    "is_prepared": "ar_jax.data.prepare_lib",
    "ChecksumError": "ar_jax.data.sources",
}

__all__ = ["DATASETS", "DatasetSpec", "Feature", "DatasetNotPreparedError",
           "DataIntegrityError", "binarize", "fixed_binarize", "threshold",
           "default_data_dir", "get_spec", "load_split", "shard_bounds",
           "verify_prepared", *_LAZY]


def __getattr__(name):
  if name in _LAZY:
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # cache; never shadowed by a submodule of the name
    return value
  raise AttributeError(f"module 'ar_jax.data' has no attribute {name!r}")


def __dir__():
  return sorted(set(globals()) | set(__all__))

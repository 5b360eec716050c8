"""Reading prepared datasets: in-memory arrays and a grain pipeline.

Both read through `tfds.data_source(..., download=False)`, so the same switch
serves ar_jax datasets (names in `DATASETS`) and standard TFDS datasets that
are already prepared on the machine (e.g. `cifar10`), whose image feature is
mapped to `image`.

Per-process sharding: process p of P gets the contiguous slice
[p*n//P + min(p, n%P), ...) of the split, the first n%P processes holding one
extra example; this is what `tfds.split_for_jax_process` (even_splits without
drop_remainder) gives, and the shards cover the split exactly once.
"""

import functools

import grain
import numpy as np
import tensorflow_datasets as tfds

from ar_jax.data import binarization
from ar_jax.data import builders
from ar_jax.data import specs

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


def _open(name, split, data_dir):
  """(data source, image key, label key or None, spec or None)."""
  spec = specs.DATASETS.get(name)
  if spec is not None:
    data_dir = specs.resolve_data_dir(data_dir)
    if split not in spec.splits and "[" not in split:
      raise ValueError(f"{name!r} has splits {list(spec.splits)} (or TFDS "
                       f"slices like 'train[:1000]'), got {split!r}")
    # Checked up front: TFDS would fail with a confusing file-format error.
    if not builders.is_built(spec.tfds_name, data_dir):
      raise specs.not_prepared_error(name, data_dir)
    src = tfds.data_source(spec.tfds_name, data_dir=data_dir, download=False,
                           split=spec.split_aliases.get(split, split))
    return src, "image", "label", spec
  return _open_tfds(name, split, data_dir) + (None,)


def _open_tfds(name, split, data_dir):
  """A standard TFDS dataset, prepared already; our dir first, then TFDS's."""
  dirs = [data_dir] if data_dir else [specs.resolve_data_dir(None), None]
  errors = []
  for d in dirs:
    try:
      builder = tfds.builder(name, data_dir=d)
      if not builder.is_prepared():
        errors.append(f"not in {builder.data_dir}")
        continue
      src = builder.as_data_source(split=split)
    except (tfds.core.registered.DatasetNotFoundError, AssertionError,
            FileNotFoundError) as e:
      errors.append(str(e).splitlines()[0])
      continue
    except NotImplementedError:  # prepared, but as tfrecord (tfds's default)
      raise specs.DatasetNotPreparedError(
          f"TFDS dataset {name!r} in {builder.data_dir} is not in a random "
          f"access format; rebuild it with `tfds build {name} "
          f"--data_dir=DIR --file_format=array_record`.") from None
    features = builder.info.features
    image_key = "image" if "image" in features else next(
        (k for k, f in features.items()
         if isinstance(f, (tfds.features.Image, tfds.features.Tensor))
         and len(f.shape) == 3), None)
    if image_key is None:
      raise ValueError(f"TFDS dataset {name!r} has no image feature "
                       f"(features: {list(features)})")
    return src, image_key, "label" if "label" in features else None
  raise specs.DatasetNotPreparedError(
      f"Dataset {name!r} is neither an ar_jax dataset ({sorted(specs.DATASETS)})"
      f" nor a prepared TFDS dataset ({'; '.join(errors)}). ar_jax cannot "
      f"download it; on a machine with internet run `tfds build {name} "
      f"--data_dir=DIR --file_format=array_record` and copy DIR/{name} into "
      f"{data_dir or specs.resolve_data_dir(None)}.")


def load_split(name, split, *, data_dir=None, process_index=0,
               process_count=1, with_labels=False):
  """Reads this process's shard of a split into memory.

  Args:
    name: a key of `DATASETS`, or a TFDS name prepared on this machine.
    split: "train", "validation", "test" or a TFDS slice ("train[:1000]").
    data_dir: defaults to `$AR_JAX_DATA_DIR` or `~/.cache/ar_jax/data`.
    process_index, process_count: contiguous sharding (module docstring).
    with_labels: also return the int64 labels.
  Returns:
    uint8 `[N, H, W, C]`, or `(images, labels)` if `with_labels`.
  Raises:
    DatasetNotPreparedError: with the command that prepares it.
  """
  src, image_key, label_key, spec = _open(name, split, data_dir)
  if with_labels and label_key is None:
    raise ValueError(f"{name!r} has no 'label' feature; use with_labels=False")
  start, stop = shard_bounds(len(src), process_index, process_count)
  images, labels = None, np.zeros(stop - start, np.int64)
  for lo in range(start, stop, _CHUNK):
    hi = min(lo + _CHUNK, stop)
    records = src.__getitems__(list(range(lo, hi)))  # bulk read: ~10x faster
    chunk = np.stack([r[image_key] for r in records])
    if images is None:
      images = np.empty((stop - start,) + chunk.shape[1:], chunk.dtype)
    images[lo - start:hi - start] = chunk
    if label_key is not None:
      labels[lo - start:hi - start] = [r[label_key] for r in records]
  if images is None:  # an empty shard
    shape = spec.input_shape if spec else src.dataset_info.features[
        image_key].shape
    images = np.zeros((0,) + tuple(shape), np.uint8)
  if spec is not None and spec.binarization == "thresholded":
    images = binarization.threshold(images)
  return (images, labels) if with_labels else images


def _record(image_key, label_key, transform, record):
  """A source record as {'image', 'label'}; top-level so workers can pickle it."""
  image = np.asarray(record[image_key])
  if transform is not None:
    image = transform(image)
  return {"image": image,
          "label": np.int64(record[label_key]) if label_key else np.int64(-1)}


def _dynamic_binarize(record, rng):
  return {"image": binarization.binarize(record["image"], rng),
          "label": record["label"]}


def grain_dataset(name, split, *, batch_size, seed, data_dir=None,
                  process_index=0, process_count=1, num_epochs=None,
                  drop_remainder=True, dynamic_binarization=False):
  """A `grain.MapDataset`: source -> shard -> shuffle(seed) -> batch -> repeat.

  Each epoch is reshuffled (grain uses seed + epoch), and batches never
  straddle epochs. Elements are `{'image': uint8 [B, H, W, C], 'label': [B]}`
  (label -1 if the dataset has none). For multiprocess reading
  (`.to_iter_dataset().mp_prefetch(...)`) the main module needs an
  `if __name__ == "__main__":` guard and parsed absl flags.

  Args:
    name, split, data_dir, process_index, process_count: as in `load_split`.
    batch_size: per-process batch size.
    seed: shuffle seed (and dynamic binarization seed), 0 <= seed < 2**32.
    num_epochs: None repeats forever.
    drop_remainder: drop each epoch's last partial batch.
    dynamic_binarization: resample Bernoulli(k/256) bits per example and
      epoch; needs an 8-bit dataset (e.g. "mnist_8bit").
  Returns:
    The `grain.MapDataset`; iterate it or index batches by number.
  """
  src, image_key, label_key, spec = _open(name, split, data_dir)
  transform = None
  if spec is not None and spec.binarization == "thresholded":
    transform = binarization.threshold
  if dynamic_binarization and (spec is None or spec.num_classes != 256):
    raise ValueError(f"dynamic_binarization needs 8-bit intensities; use "
                     f"'mnist_8bit' or 'fashion_mnist' instead of {name!r}")
  start, stop = shard_bounds(len(src), process_index, process_count)
  ds = (grain.MapDataset.source(src)
        .slice(slice(start, stop))
        .shuffle(seed=seed)
        .map(functools.partial(_record, image_key, label_key, transform)))
  if dynamic_binarization:
    # random_map draws from (seed, global index), and the index grows with
    # the epoch after repeat, so every epoch gets fresh bits.
    ds = ds.random_map(_dynamic_binarize, seed=seed)
  ds = ds.batch(batch_size, drop_remainder=drop_remainder)
  return ds.repeat(num_epochs)

"""In-memory input pipeline with a stateless, step-indexed data order.

A split is loaded once as uint8 `[N, *data_shape]` on the host. The order is a
pure function of the step: epoch e = step // steps_per_epoch is a numpy
permutation seeded by (seed, e), and batch i of that epoch is slice i of it.
Exact resume therefore needs only the step; there is no iterator state.

Batches stay uint8 on the host (4x less to transfer than int32);
`preprocess` binarizes on device inside the jitted step, keyed by the step,
so dynamic binarization is identical for any device or process count
(partitionable threefry). Eval covers the whole split: the last partial batch
is zero-padded and a mask marks the real rows.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

SYNTHETIC = "synthetic"
_ORDER_SALT = 0xDA7A  # Keeps the data-order stream apart from other seeded uses.


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """What the model sees: per-example shape and values after binarization."""
  shape: tuple  # Stored shape of one example, e.g. (28, 28, 1).
  num_classes: int  # Values per dimension fed to the model (2 when binarized).
  splits: dict  # Split name -> number of examples.


def data_info(data_cfg):
  """Checks data.name against data.binarization and returns a `DataInfo`."""
  if data_cfg.name == SYNTHETIC:
    s = data_cfg.synthetic
    shape, classes = tuple(s.shape), s.num_classes
    splits = {"train": s.num_train, "validation": s.num_validation, "test": s.num_test}
  else:
    from ar_jax import data as ar_data  # pylint: disable=import-outside-toplevel
    if data_cfg.name not in ar_data.DATASETS:
      raise ValueError(f"config.data.name={data_cfg.name!r} is unknown; expected "
                       f"one of {sorted(ar_data.DATASETS) + [SYNTHETIC]}")
    spec = ar_data.DATASETS[data_cfg.name]
    shape, classes, splits = tuple(spec.input_shape), spec.num_classes, dict(spec.splits)
  b = data_cfg.binarization
  if b == "fixed" and classes != 2:
    raise ValueError(
        f"config.data.binarization='fixed' uses the stored binary data as is, but "
        f"data.name={data_cfg.name!r} has {classes} values per pixel; use "
        "'dynamic' or 'threshold' for 8-bit data (or a binarized dataset)")
  if b in ("dynamic", "threshold") and classes != 256:
    raise ValueError(
        f"config.data.binarization={b!r} binarizes 8-bit data, but "
        f"data.name={data_cfg.name!r} has {classes} values per pixel; use "
        "'fixed' (or 'none') for already binary data")
  return DataInfo(shape=shape, num_classes=2 if b != "none" else classes, splits=splits)


def check_model_shape(data_shape, model_shape):
  """The model may see the data reshaped (28x28x1 -> 784) but never resized."""
  if math.prod(data_shape) != math.prod(model_shape):
    raise ValueError(
        f"config.model.hparams.input_shape={tuple(model_shape)} has "
        f"{math.prod(model_shape)} elements but the data examples have shape "
        f"{tuple(data_shape)} ({math.prod(data_shape)} elements); expected a "
        "shape with the same number of elements")


def load_split(data_cfg, split, *, process_index=0, process_count=1):
  """uint8 `[N, *shape]` for `split` (this process's shard if process_count > 1)."""
  if data_cfg.name == SYNTHETIC:
    x = _synthetic(data_cfg.synthetic, split)[process_index::process_count]
  else:
    from ar_jax import data as ar_data  # pylint: disable=import-outside-toplevel
    x = np.asarray(ar_data.load_split(
        data_cfg.name, split, data_dir=data_cfg.data_dir,
        process_index=process_index, process_count=process_count))
  if x.dtype != np.uint8:
    raise TypeError(f"data {data_cfg.name!r}/{split}: expected uint8 pixels, got {x.dtype}")
  if data_cfg.binarization == "fixed" and x.size and x.max() > 1:
    raise ValueError(
        f"config.data.binarization='fixed' expects stored {{0, 1}} pixels but "
        f"{data_cfg.name!r}/{split} has values up to {x.max()}")
  return x


def _synthetic(s, split):
  """Noisy copies of 8 random prototypes: learnable, deterministic, tiny."""
  sizes = {"train": s.num_train, "validation": s.num_validation, "test": s.num_test}
  if split not in sizes:
    raise ValueError(f"synthetic data has splits {sorted(sizes)}, got {split!r}")
  shape = tuple(s.shape)
  protos = np.random.default_rng([7, 0]).random((8,) + shape) < 0.3
  rng = np.random.default_rng([7, 1 + sorted(sizes).index(split)])
  n = sizes[split]
  bits = protos[rng.integers(0, 8, n)] ^ (rng.random((n,) + shape) < 0.05)
  if s.num_classes == 2:
    return bits.astype(np.uint8)
  hi, lo = s.num_classes - 1, 0
  noise = rng.integers(0, max(1, s.num_classes // 8), (n,) + shape)
  return np.where(bits, hi - noise, lo + noise).astype(np.uint8)


def preprocess(x_u8, key, binarization, model_shape):
  """Device side: uint8 `[B, *data_shape]` -> int32 `[B, *model_shape]`."""
  if binarization == "dynamic":
    from ar_jax import data as ar_data  # pylint: disable=import-outside-toplevel
    x = ar_data.binarize(x_u8, key)  # Bernoulli(k/256), jittable with a key.
  elif binarization == "threshold":
    x = x_u8 >= 128  # Intensity k/256 >= 0.5, as ar_jax.data.threshold.
  else:
    x = x_u8
  return x.astype(jnp.int32).reshape((x_u8.shape[0],) + tuple(model_shape))


class TrainBatches:
  """Batch `step` = rows `step`-th slice of epoch `step // steps_per_epoch`'s permutation.

  `rows` = (start, stop) selects this process's part of each batch of
  `batch_size` rows; the remainder of an epoch (N mod batch_size) is dropped.
  """

  def __init__(self, x_u8, *, batch_size, seed, rows=None, num_examples=None,
               global_batch_size=None):
    self.x = x_u8
    self.batch_size = batch_size
    self.global_batch_size = global_batch_size or batch_size
    self.seed = seed
    self.rows = rows or (0, batch_size)
    self.num_examples = len(x_u8) if num_examples is None else num_examples
    self.steps_per_epoch = self.num_examples // batch_size
    if self.steps_per_epoch < 1:
      raise ValueError(
          f"the train split has {self.num_examples} examples (per process), fewer "
          f"than one batch of {batch_size}; lower config.train.batch_size")
    self._cached = (None, None)

  def _perm(self, epoch):
    if self._cached[0] != epoch:
      rng = np.random.default_rng([self.seed, _ORDER_SALT, epoch])
      self._cached = (epoch, rng.permutation(self.num_examples))
    return self._cached[1]

  def epoch(self, step):
    return step // self.steps_per_epoch

  def local_batch(self, step):
    epoch, i = divmod(step, self.steps_per_epoch)
    start = i * self.batch_size
    return self.x[self._perm(epoch)[start + self.rows[0]:start + self.rows[1]]]

  def local_batches(self, step, k):
    """uint8 `[k, rows, *shape]`: batches step, ..., step + k - 1."""
    return np.stack([self.local_batch(step + j) for j in range(k)])


class EvalBatches:
  """Whole-split iteration: `(index, x_u8, mask)` with padded last batch."""

  def __init__(self, x_u8, *, batch_size, rows=None, num_batches=None,
               global_batch_size=None):
    self.x = x_u8
    self.batch_size = batch_size
    self.global_batch_size = global_batch_size or batch_size
    self.rows = rows or (0, batch_size)
    self.num_batches = (math.ceil(len(x_u8) / batch_size) if num_batches is None
                        else num_batches)

  def __len__(self):
    return self.num_batches

  def __iter__(self):
    n = len(self.x)
    for i in range(self.num_batches):
      idx = i * self.batch_size + np.arange(*self.rows)
      mask = idx < n
      x = self.x[np.where(mask, idx, 0)] if n else np.zeros(
          (len(idx),) + self.x.shape[1:], np.uint8)
      x[~mask] = 0
      yield i, x, mask


def make_batches(data_cfg, split, *, batch_size, seed, sharding, train,
                 process_index=None, process_count=None):
  """Loads `split` for this process and wraps it in Train- or EvalBatches.

  `sharding` is the batch sharding (leading axis = batch) used to find this
  process's rows in "batch" mode. In "split" mode every process iterates its
  own shard; the shard sizes are agreed over processes so that all of them run
  the same number of steps (train: the smallest shard; eval: the largest).
  """
  pi = jax.process_index() if process_index is None else process_index
  pc = jax.process_count() if process_count is None else process_count
  if data_cfg.process_sharding == "batch" or pc == 1:
    x = load_split(data_cfg, split)
    from ar_jax import sharding as sharding_lib  # pylint: disable=import-outside-toplevel
    rows = sharding_lib.process_rows(sharding, (batch_size,) + x.shape[1:])
    if train:
      return TrainBatches(x, batch_size=batch_size, seed=seed, rows=rows)
    return EvalBatches(x, batch_size=batch_size, rows=rows)
  x = load_split(data_cfg, split, process_index=pi, process_count=pc)
  local = batch_size // pc
  sizes = _all_process_sizes(len(x), pc)
  if train:
    return TrainBatches(x, batch_size=local, seed=seed, num_examples=int(sizes.min()),
                        global_batch_size=batch_size)
  return EvalBatches(x, batch_size=local, num_batches=math.ceil(sizes.max() / local),
                     global_batch_size=batch_size)


def _all_process_sizes(n, process_count):
  if process_count == 1:
    return np.array([n])
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
  return np.asarray(multihost_utils.process_allgather(np.int64(n))).reshape(-1)

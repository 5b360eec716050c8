"""From `config.data` to batches: what the model sees, and in which order.

`data_info(config.data)` checks the config against the dataset's spec and says
what the model sees (`DataInfo`), before any data is read.
`make_batches(...)` loads a split once into host memory and serves batches as
dicts `{"x": [B, ...], "cond": [B, ...]}` ("cond" only when
`data.cond_feature` is set; eval batches add "mask"):

- examples (images, vectors): epoch e = step // steps_per_epoch is a numpy
  permutation seeded by (seed, e), and batch i of that epoch is slice i of it.
- streams (token sequences): batch `step` is B windows of T = data.seq_len
  positions whose starts are drawn from numpy seeded by (seed, step). A
  lower-rate cond feature (`Feature.hop` h > 1, e.g. log-mel frames of audio)
  comes as the window's T / h rows; windows then start at multiples of h.

Either way the order is a pure function of the step, so exact resume needs
only the step (no iterator state) and is independent of how steps are
grouped into dispatches. Evaluation covers a split exactly once: the last
partial batch of examples is padded and masked per row; a stream is cut into
consecutive windows, the last one ending at the stream's end and masked per
position where it overlaps the previous one (so those positions are context,
not scored twice).

Batches stay in their stored dtype on the host (uint8 images: 4x less to
transfer than int32); `model_inputs` binarizes and casts on device inside the
jitted step, keyed by the step, so dynamic binarization is identical for any
device or process count (partitionable threefry).

Why no grain or tf.data: every dataset here fits in host memory (the largest,
Fashion-MNIST, is 55 MB), and in-memory arrays with a step-indexed order give
exact resume for free; a streaming reader would need its iterator state in
every checkpoint. A dataset larger than host memory would bring a streaming
source back, behind the same `local_batches(step, k)` interface.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import sharding as sharding_lib
from ar_jax.data import binarization as binarization_lib
from ar_jax.data import reading
from ar_jax.data import specs

_ORDER_SALT = 0xDA7A  # Keeps the data-order stream apart from other seeded uses.


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """What the model sees, derived from `config.data` and the dataset spec.

  Attributes:
    spec: the dataset's `DatasetSpec`.
    shape: shape of one example of x as served (a window (T, ...) for streams).
    num_classes: values per element after binarization; None if real-valued.
    dtype: numpy dtype of x on the model side (int32, or float32 if real).
    cond: the conditioning `Feature` (shape per example; per window for a
      stream), or None for an unconditional setup.
    splits: split name -> number of examples (positions for a stream).
  """
  spec: specs.DatasetSpec
  shape: tuple
  num_classes: int | None
  dtype: np.dtype
  cond: specs.Feature | None
  splits: dict

  @property
  def is_stream(self):
    return self.spec.kind == "stream"

  @property
  def cond_classes(self):
    """Classes of a scalar discrete cond (a class label); 0 otherwise."""
    c = self.cond
    return int(c.num_classes) if c is not None and c.is_discrete and not c.shape else 0

  @property
  def cond_size(self):
    """Elements of a vector / sequence cond; 0 for none or a class label."""
    return 0 if self.cond is None or self.cond_classes else math.prod(self.cond.shape)


def _spec(data_cfg):
  return reading.get_spec(data_cfg.name, data_dir=data_cfg.data_dir)


def data_info(data_cfg):
  """Checks `config.data` against the dataset's spec; returns a `DataInfo`."""
  spec = _spec(data_cfg)
  x = spec.feature(spec.x)
  b = data_cfg.binarization
  k = x.num_classes
  if not x.is_discrete and b != "none":
    raise ValueError(
        f"config.data.binarization={b!r} binarizes images, but data.name="
        f"{data_cfg.name!r} is real-valued ({x.dtype} {spec.x!r}); use 'none'")
  if b == "fixed" and k != 2:
    raise ValueError(
        f"config.data.binarization='fixed' uses the stored binary data as is, but "
        f"data.name={data_cfg.name!r} has {k} values per pixel; use "
        "'dynamic' or 'threshold' for 8-bit data (or a binarized dataset)")
  if b in ("dynamic", "threshold") and k != 256:
    raise ValueError(
        f"config.data.binarization={b!r} binarizes 8-bit data, but "
        f"data.name={data_cfg.name!r} has {k} values per pixel; use "
        "'fixed' (or 'none') for already binary data")
  window = ()
  if spec.kind == "stream":
    if data_cfg.seq_len < 1:
      raise ValueError(
          f"data.name={data_cfg.name!r} is a stream of positions: set "
          "config.data.seq_len to the window length T the model sees (e.g. 64)")
    window = (int(data_cfg.seq_len),)
  elif data_cfg.seq_len:
    raise ValueError(
        f"config.data.seq_len={data_cfg.seq_len} only applies to stream "
        f"datasets, but data.name={data_cfg.name!r} is a set of examples; "
        "leave it at 0")
  cond = None
  if data_cfg.cond_feature:
    if data_cfg.cond_feature == spec.x:
      raise ValueError(f"config.data.cond_feature={data_cfg.cond_feature!r} is "
                       "the modelled feature itself; name another feature")
    try:
      f = spec.feature(data_cfg.cond_feature)
    except KeyError as e:
      raise ValueError(f"config.data.cond_feature={data_cfg.cond_feature!r}: "
                       f"{e.args[0]}") from None
    if f.hop > 1 and (spec.kind != "stream" or data_cfg.seq_len % f.hop):
      raise ValueError(
          f"config.data.cond_feature={f.name!r} has one row per {f.hop} positions: "
          f"config.data.seq_len must be a multiple of {f.hop}, got {data_cfg.seq_len}")
    rows = (window[0] // f.hop,) if window else ()
    cond = dataclasses.replace(f, shape=rows + tuple(f.shape))
  return DataInfo(
      spec=spec, shape=window + tuple(x.shape),
      num_classes=None if k is None else (2 if b != "none" else k),
      dtype=np.dtype(np.int32 if x.is_discrete else np.float32), cond=cond,
      splits=dict(spec.splits))


def verify(data_cfg, splits):
  """Checks the prepared files of `splits` of `config.data`'s dataset.

  Raises:
    DatasetNotPreparedError: not prepared; the message gives the command.
    DataIntegrityError: a file is damaged; the message names it and the fix.
  """
  reading.verify_prepared(data_cfg.name, sorted(set(splits)),
                          data_dir=data_cfg.data_dir)


def load_split(data_cfg, split, *, process_index=0, process_count=1):
  """{"x": ..., ["cond": ...]} of `split` (this process's shard if P > 1)."""
  spec = _spec(data_cfg)
  arrays = reading.load_split(
      data_cfg.name, split, data_dir=data_cfg.data_dir,
      process_index=process_index, process_count=process_count)
  out = {"x": arrays[spec.x]}
  if data_cfg.cond_feature:
    out["cond"] = arrays[data_cfg.cond_feature]
  x = out["x"]
  if data_cfg.binarization == "fixed" and x.size and x.max() > 1:
    raise ValueError(
        f"config.data.binarization='fixed' expects stored {{0, 1}} pixels but "
        f"{data_cfg.name!r}/{split} has values up to {x.max()}")
  return out


def model_inputs(batch, key, binarization, model_shape):
  """Device side: a host batch -> (x `[B, *model_shape]`, cond or None).

  Discrete x becomes int32 (binarized per `binarization`), real x float32;
  a class-label cond becomes int32, any other cond float32.
  """
  x = batch["x"]
  if binarization == "dynamic":
    x = binarization_lib.binarize(x, key)  # Bernoulli(k/256), jittable with a key.
  elif binarization == "threshold":
    x = x >= 128  # Intensity k/256 >= 0.5, as ar_jax.data.threshold.
  dtype = jnp.int32 if jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == bool else jnp.float32
  x = x.astype(dtype).reshape((x.shape[0],) + tuple(model_shape))
  cond = batch.get("cond")
  if cond is not None:
    cond = cond.astype(jnp.int32 if jnp.issubdtype(cond.dtype, jnp.integer) else jnp.float32)
  return x, cond


def _take(arrays, idx, hops=None):
  """Rows `idx` of every array; a lower-rate stream array (hop h) gets rows idx[:, ::h] // h."""
  hops = hops or {}
  return {k: v[idx[..., ::hops[k]] // hops[k]] if hops.get(k, 1) > 1 else v[idx]
          for k, v in arrays.items()}


def _check_hops(arrays, hops, seq_len):
  """A lower-rate array covers the stream in whole rows, and windows in whole rows."""
  n = len(arrays["x"])
  for k, h in hops.items():
    if n != h * len(arrays[k]) or seq_len % h:
      raise ValueError(
          f"stream feature {k!r} has one row per {h} positions: expected {n} / {h} rows "
          f"and config.data.seq_len a multiple of {h}; got {len(arrays[k])} rows, "
          f"seq_len={seq_len}")


class TrainBatches:
  """Batch `step` = rows `step`-th slice of epoch `step // steps_per_epoch`'s permutation.

  `rows` = (start, stop) selects this process's part of each batch of
  `batch_size` rows; the remainder of an epoch (N mod batch_size) is dropped.
  """

  def __init__(self, arrays, *, batch_size, seed, rows=None, num_examples=None,
               global_batch_size=None):
    self.arrays = arrays
    self.batch_size = batch_size
    self.global_batch_size = global_batch_size or batch_size
    self.seed = seed
    self.rows = rows or (0, batch_size)
    self.num_examples = len(arrays["x"]) if num_examples is None else num_examples
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

  def local_indices(self, step):
    epoch, i = divmod(step, self.steps_per_epoch)
    start = i * self.batch_size
    return self._perm(epoch)[start + self.rows[0]:start + self.rows[1]]

  def local_batch(self, step):
    return _take(self.arrays, self.local_indices(step))

  def local_batches(self, step, k):
    """{name: [k, rows, ...]}: batches step, ..., step + k - 1."""
    parts = [self.local_batch(step + j) for j in range(k)]
    return {name: np.stack([p[name] for p in parts]) for name in parts[0]}


class TrainWindows:
  """Batch `step` = `batch_size` random windows of `seq_len` stream positions.

  Window starts are uniform over [0, N - seq_len], drawn from numpy seeded by
  (seed, shard, step): a pure function of the step, as for examples. `rows`
  selects this process's windows of each global batch ("batch" mode); in
  "split" mode each process draws from its own shard (`shard` = its index).
  An "epoch" is N // (batch_size * seq_len) steps (about N positions seen).
  """

  def __init__(self, arrays, *, batch_size, seed, seq_len, rows=None,
               num_examples=None, global_batch_size=None, shard=0, hops=None):
    self.arrays = arrays
    self.hops = dict(hops or {})
    _check_hops(arrays, self.hops, seq_len)
    # Windows start on row boundaries of every lower-rate feature (they are
    # whole multiples of one another in practice: one hop per dataset).
    self.align = max(self.hops.values(), default=1)
    self.batch_size = batch_size
    self.global_batch_size = global_batch_size or batch_size
    self.seed, self.shard, self.seq_len = seed, shard, seq_len
    self.rows = rows or (0, batch_size)
    self.num_positions = len(arrays["x"]) if num_examples is None else num_examples
    if self.num_positions < seq_len:
      raise ValueError(
          f"the train stream has {self.num_positions} positions (per process), "
          f"fewer than one window of config.data.seq_len={seq_len}")
    self.steps_per_epoch = max(1, self.num_positions // (batch_size * seq_len))

  def local_indices(self, step):
    rng = np.random.default_rng([self.seed, _ORDER_SALT, self.shard, step])
    starts = rng.integers(0, (self.num_positions - self.seq_len) // self.align + 1,
                          self.batch_size) * self.align
    starts = starts[self.rows[0]:self.rows[1]]
    return starts[:, None] + np.arange(self.seq_len)[None]  # [rows, T]

  def local_batch(self, step):
    return _take(self.arrays, self.local_indices(step), self.hops)

  local_batches = TrainBatches.local_batches


class EvalBatches:
  """Whole-split iteration: `(index, batch, mask)` with a padded last batch.

  `batch` is {"x", ["cond"]}; `mask` is bool `[rows]` for examples and
  `[rows, seq_len]` for windows of a stream (module docstring).
  """

  def __init__(self, arrays, *, batch_size, rows=None, num_batches=None,
               global_batch_size=None, seq_len=None, hops=None):
    self.arrays = arrays
    self.hops = dict(hops or {})
    if self.hops and len(arrays["x"]):
      _check_hops(arrays, self.hops, seq_len)  # so every window starts on a row
    self.batch_size = batch_size
    self.global_batch_size = global_batch_size or batch_size
    self.rows = rows or (0, batch_size)
    self.seq_len = seq_len
    n = len(arrays["x"])
    if seq_len is not None and 0 < n < seq_len:
      raise ValueError(f"the eval stream has {n} positions, fewer than one window "
                       f"of config.data.seq_len={seq_len}")
    self.num_units = n if seq_len is None else math.ceil(n / seq_len)
    self.num_batches = (math.ceil(self.num_units / batch_size) if num_batches is None
                        else num_batches)

  def __len__(self):
    return self.num_batches

  def _rows(self, unit):
    """Indices into the arrays and the mask of units (examples or windows)."""
    valid = unit < self.num_units
    if self.seq_len is None:
      return np.where(valid, unit, 0), valid
    n, t = len(self.arrays["x"]), self.seq_len
    # Window w covers [w*T, (w+1)*T), the last one shifted to end at n; a
    # position is scored by the first window that covers it.
    start = np.minimum(unit * t, n - t)
    pos = start[:, None] + np.arange(t)[None]
    return np.where(valid[:, None], pos, 0), valid[:, None] & (pos >= unit[:, None] * t)

  def __iter__(self):
    for i in range(self.num_batches):
      idx, mask = self._rows(i * self.batch_size + np.arange(*self.rows))
      if len(self.arrays["x"]):
        batch = _take(self.arrays, idx, self.hops)
      else:
        batch = {k: np.zeros(idx[..., ::self.hops.get(k, 1)].shape + v.shape[1:], v.dtype)
                 for k, v in self.arrays.items()}
      row_ok = mask if mask.ndim == 1 else mask.any(axis=1)
      for v in batch.values():
        v[~row_ok] = 0
      yield i, batch, mask


def make_batches(data_cfg, split, *, batch_size, seed, sharding, train,
                 process_index=None, process_count=None):
  """Loads `split` for this process and wraps it in Train/Eval batches.

  `sharding` is the batch sharding (leading axis = batch) used to find this
  process's rows in "batch" mode. In "split" mode every process iterates its
  own shard; the shard sizes are agreed over processes so that all of them run
  the same number of steps (train: the smallest shard; eval: the largest).
  """
  pi = jax.process_index() if process_index is None else process_index
  pc = jax.process_count() if process_count is None else process_count
  spec = _spec(data_cfg)
  stream = spec.kind == "stream"
  seq = dict(seq_len=data_cfg.seq_len) if stream else {}
  hop = spec.feature(data_cfg.cond_feature).hop if data_cfg.cond_feature else 1
  if hop > 1:
    if data_cfg.process_sharding != "batch" and pc > 1:
      raise ValueError(
          f"config.data.cond_feature={data_cfg.cond_feature!r} is a lower-rate stream "
          "feature: use config.data.process_sharding='batch' (contiguous shards of "
          "the stream would cut its rows)")
    seq["hops"] = {"cond": hop}
  train_cls = TrainWindows if stream else TrainBatches
  if data_cfg.process_sharding == "batch" or pc == 1:
    arrays = load_split(data_cfg, split)
    rows = sharding_lib.process_rows(sharding, (batch_size,))
    if train:
      return train_cls(arrays, batch_size=batch_size, seed=seed, rows=rows, **seq)
    return EvalBatches(arrays, batch_size=batch_size, rows=rows,
                       seq_len=seq.get("seq_len"), hops=seq.get("hops"))
  arrays = load_split(data_cfg, split, process_index=pi, process_count=pc)
  local = batch_size // pc
  sizes = _all_process_sizes(len(arrays["x"]), pc)
  if train:
    if stream:
      seq["shard"] = pi  # Each process draws its own windows from its shard.
    return train_cls(arrays, batch_size=local, seed=seed,
                     num_examples=int(sizes.min()), global_batch_size=batch_size, **seq)
  units = sizes.max() if not stream else math.ceil(sizes.max() / data_cfg.seq_len)
  return EvalBatches(arrays, batch_size=local, num_batches=math.ceil(units / local),
                     global_batch_size=batch_size, seq_len=seq.get("seq_len"))


def _all_process_sizes(n, process_count):
  if process_count == 1:
    return np.array([n])
  from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
  return np.asarray(multihost_utils.process_allgather(np.int64(n))).reshape(-1)

"""Evaluation of params, in one place: exact NLL over a split, and sample grids.

`evaluate(exp, params, split)` scores every example (or every position of a
stream) of `split` exactly once: the eval batches pad and mask the tail
(`ar_jax.data.pipeline.EvalBatches`), and sums are accumulated in float64 on
the host, so the result does not depend on the batch size or device count.
Examples report nats per example and bits per dimension; streams report
nats and bits per position (bits/token for text).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ar_jax import reporting
from ar_jax import sampling
from ar_jax import sharding as sharding_lib
from ar_jax.data import pipeline
from ar_jax.data import text


def eval_step(params, batch, mask, key_data, batch_index, *, model, binarization):
  """Sum of log p over the real (unmasked) rows or positions, and their count.

  `mask` is bool `[B]` (examples: `log_prob` per row, so ensembles stay
  exact) or `[B, T]` (stream windows: per-position log-probabilities, so
  each position of the split is scored once).
  """
  key = jax.random.fold_in(jax.random.wrap_key_data(key_data), batch_index)
  x, cond = pipeline.model_inputs(batch, key, binarization, model.input_shape)
  kwargs = {} if cond is None else {"cond": cond}
  v = {"params": params}
  if mask.ndim == 1:
    logp = model.apply(v, x, method="log_prob", **kwargs)
  else:
    logp_BxTx_ = model.apply(v, x, method="dim_log_probs", **kwargs)
    logp = logp_BxTx_.reshape(mask.shape + (-1,)).sum(-1)
  # where, not multiply: a non-finite padded row must not poison the sum.
  return dict(logp_sum=jnp.sum(jnp.where(mask, logp, 0.0)),
              count=jnp.sum(mask.astype(jnp.int32)))


def jit_eval_step(config, model, mesh, param_sharding=None):
  """`eval_step` jitted over the mesh; params in `param_sharding` (default: replicated)."""
  rep, bat = sharding_lib.replicated(mesh), sharding_lib.batch_sharding(mesh)
  params = rep if param_sharding is None else param_sharding
  fn = functools.partial(eval_step, model=model, binarization=config.data.binarization)
  return jax.jit(fn, in_shardings=(params, bat, bat, rep, rep), out_shardings=rep)


def _split_id(split):
  return int.from_bytes(split.encode()[:4].ljust(4, b"\0"), "little") & 0x7FFFFFFF


def evaluate(exp, params, split, batches=None, draw=0):
  """NLL of `params` over the whole `split`: nats and bits per example/position.

  Args:
    exp: the `Experiment`.
    params: the params to score.
    split: split name (its binarization key is derived from it).
    batches: the split's `EvalBatches` if already loaded (the train loop keeps
      the validation split in memory instead of reloading it every eval).
    draw: which dynamic binarization of the split to score (0: the one every
      eval during training scores; d > 0 folds d into its key).
  Returns:
    dict(nll, bpd, num_examples) for examples; streams also give num_tokens
    (= num_examples: every position once) and their nll/bpd are per position.
  """
  if batches is None:
    batches = exp.batches(split, train=False)
  key = jax.random.fold_in(exp.key("eval"), _split_id(split))
  if draw:
    key = jax.random.fold_in(key, draw)
  bat = sharding_lib.batch_sharding(exp.mesh)
  global_b = batches.global_batch_size
  key_data = np.asarray(jax.random.key_data(key))
  pending = []
  for i, batch, mask in batches:
    glob = {k: sharding_lib.to_global(v, bat, (global_b,) + v.shape[1:])
            for k, v in batch.items()}
    m = sharding_lib.to_global(mask, bat, (global_b,) + mask.shape[1:])
    pending.append(exp.eval_fn(params, glob, m, key_data, np.int32(i)))
  total, count = 0.0, 0
  for out in pending:
    out = sharding_lib.to_host(out)
    total += float(out["logp_sum"])
    count += int(out["count"])
  if count == 0:
    raise ValueError(f"evaluation split {split!r} is empty")
  nll = -total / count
  res = dict(nll=nll, bpd=nll / (exp.dims_per_unit * np.log(2.0)), num_examples=count)
  if exp.data.is_stream:
    res["num_tokens"] = count
  return res


def bits_unit(exp):
  """The unit of `bpd` for this data: bits/char (text), bits/position, bits/dim."""
  if exp.data.is_stream:
    return "bits/char" if text.is_text_dataset(exp.config.data.name) else "bits/position"
  return "bits/dim"


def sample_cond(exp, num_samples, arrays=None):
  """`(cond, columns)` for a sample grid; `(None, None)` if unconditional.

  A class-label cond gives one row per class (`columns` samples each); any
  other cond is taken from the first examples (windows) of the eval split.
  """
  info = exp.data
  if info.cond is None:
    return None, None
  if info.cond_classes:
    cols = math.ceil(num_samples / info.cond_classes)
    return np.repeat(np.arange(info.cond_classes, dtype=np.int32), cols), cols
  if arrays is None:
    arrays = pipeline.load_split(exp.config.data, exp.config.data.eval_split)
  cond = arrays["cond"]
  if info.is_stream:
    t = info.shape[0]
    idx = (np.arange(num_samples)[:, None] * t + np.arange(t)[None]) % len(cond)
  else:
    idx = np.arange(num_samples) % len(cond)
  return cond[idx], None


def sample_grid(exp, params, key, num_samples, temperature=1.0, arrays=None):
  """Draws samples (all processes take part) and lays them out as a uint8 image.

  For a class-conditional model the grid has one row per class.
  """
  cond, cols = sample_cond(exp, num_samples, arrays)
  n = num_samples if cond is None else len(cond)
  key = jax.device_put(key, sharding_lib.replicated(exp.mesh))
  x = sampling.sample(exp.model, {"params": params}, key, n, cond=cond,
                      temperature=temperature)
  x = sharding_lib.to_host(x)
  shape = reporting.image_shape(exp.model.input_shape, exp.data.shape)
  return reporting.image_grid(x, shape, exp.data.num_classes, cols=cols)

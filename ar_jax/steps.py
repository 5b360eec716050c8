"""Pure train and eval steps, and their jitted, mesh-sharded versions.

`train_step(state, batch, ...)` is one optimizer micro-step on a global batch;
`train_steps` scans it over `K` batches so one dispatch runs `K` steps
(amortizes host overhead on accelerators). The RNG of step s is
`fold_in(state.rng, s)`: never reused, and independent of how steps are
grouped into dispatches or of the device count.

A non-finite loss, gradient or update leaves params, optimizer state and EMA
unchanged (the step counter still advances) and sets `finite=False` in the
metrics; the loop then raises. So the in-memory state is never poisoned and
a bad state is never checkpointed.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ar_jax import input_pipeline
from ar_jax import optim
from ar_jax import sharding as sharding_lib


def train_step(state, batch_u8, *, model, tx, schedule, binarization, ema_decay,
               accum_steps):
  """One step on uint8 `[B, *data_shape]`; returns `(state, metrics)`."""
  key = jax.random.fold_in(jax.random.wrap_key_data(state.rng), state.step)
  bin_key, model_key = jax.random.split(key)
  x = input_pipeline.preprocess(batch_u8, bin_key, binarization, model.input_shape)

  def loss_fn(params):
    logp_B = model.apply({"params": params}, x, model_key, method="train_log_prob")
    return -jnp.mean(logp_B)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  ema = state.ema_params
  if ema is not None:
    # With gradient accumulation, average only the params that an update produced.
    ema = jax.tree.map(functools.partial(jnp.where, optim.did_update(tx, opt_state)),
                       optim.ema_update(ema, params, ema_decay), ema)
  grad_norm = optax.tree.norm(grads)
  update_norm = optax.tree.norm(updates)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.isfinite(update_norm)

  def keep_if_finite(new, old):
    return jax.tree.map(functools.partial(jnp.where, finite), new, old)

  state = state.replace(
      step=state.step + 1,
      params=keep_if_finite(params, state.params),
      opt_state=keep_if_finite(opt_state, state.opt_state),
      ema_params=keep_if_finite(ema, state.ema_params))
  metrics = dict(loss=loss, grad_norm=grad_norm, update_norm=update_norm,
                 lr=schedule((state.step - 1) // accum_steps), finite=finite)
  return state, metrics


def train_steps(state, batches_KxB, **kwargs):
  """`K` train steps in one program (`lax.scan`); metrics are stacked `[K]`."""
  return jax.lax.scan(functools.partial(train_step, **kwargs), state, batches_KxB)


def eval_step(params, batch_u8, mask_B, key_data, batch_index, *, model, binarization):
  """Sum of log p(x) over the real (unmasked) rows, and their count."""
  key = jax.random.fold_in(jax.random.wrap_key_data(key_data), batch_index)
  x = input_pipeline.preprocess(batch_u8, key, binarization, model.input_shape)
  logp_B = model.apply({"params": params}, x, method="log_prob")
  # where, not multiply: a non-finite padded row must not poison the sum.
  return dict(logp_sum=jnp.sum(jnp.where(mask_B, logp_B, 0.0)),
              count=jnp.sum(mask_B.astype(jnp.int32)))


def jit_train_steps(config, model, tx, schedule, state_sharding, mesh):
  """`train_steps` jitted over the mesh: state replicated and donated."""
  fn = functools.partial(
      train_steps, model=model, tx=tx, schedule=schedule,
      binarization=config.data.binarization, ema_decay=config.optim.ema_decay,
      accum_steps=config.optim.grad_accum_steps)
  return jax.jit(fn, in_shardings=(state_sharding, sharding_lib.batch_sharding(mesh, 1)),
                 out_shardings=(state_sharding, sharding_lib.replicated(mesh)),
                 donate_argnums=0)


def jit_eval_step(config, model, mesh):
  rep, bat = sharding_lib.replicated(mesh), sharding_lib.batch_sharding(mesh)
  fn = functools.partial(eval_step, model=model, binarization=config.data.binarization)
  return jax.jit(fn, in_shardings=(rep, bat, bat, rep, rep), out_shardings=rep)


def evaluate(eval_fn, params, batches, key, mesh, num_dims):
  """Exact NLL over a whole split: nats/example and bits/dim.

  `batches` is an `EvalBatches`; sums are accumulated in float64 on the host,
  so the mean over N examples does not depend on the batch size.
  """
  bat = sharding_lib.batch_sharding(mesh)
  global_b = batches.global_batch_size
  key_data = np.asarray(jax.random.key_data(key))
  pending = []
  for i, x_u8, mask in batches:
    x = sharding_lib.to_global(x_u8, bat, (global_b,) + x_u8.shape[1:])
    m = sharding_lib.to_global(mask, bat, (global_b,))
    pending.append(eval_fn(params, x, m, key_data, np.int32(i)))
  total, count = 0.0, 0
  for out in pending:
    out = sharding_lib.to_host(out)
    total += float(out["logp_sum"])
    count += int(out["count"])
  if count == 0:
    raise ValueError("evaluation split is empty")
  nll = -total / count
  return dict(nll=nll, bpd=nll / (num_dims * np.log(2.0)), num_examples=count)

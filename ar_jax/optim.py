"""Optimizer from `config.optim`: Adam/AdamW/Adagrad, warmup + decay, clipping, accumulation.

Schedules count optimizer *updates*; with `grad_accum_steps = k` one update
happens every k train steps (`optax.MultiSteps`), so a run of `num_steps`
train steps makes `num_steps // k` updates.
"""

import jax
import jax.numpy as jnp
import optax


def num_updates(config):
  return config.train.num_steps // config.optim.grad_accum_steps


def make_schedule(optim_cfg, total_updates):
  """Linear warmup to `lr`, then constant, cosine or exponential decay."""
  lr, warmup = optim_cfg.lr, optim_cfg.warmup_steps
  decay_steps = (optim_cfg.decay_steps if optim_cfg.decay_steps > 0
                 else max(1, total_updates - warmup))
  if optim_cfg.schedule == "constant":
    after = optax.constant_schedule(lr)
  elif optim_cfg.schedule == "cosine":
    after = optax.cosine_decay_schedule(lr, decay_steps, alpha=optim_cfg.end_lr_factor)
  elif optim_cfg.schedule == "exponential":
    after = optax.exponential_decay(lr, decay_steps, optim_cfg.decay_rate)
  else:
    raise ValueError(f"config.optim.schedule={optim_cfg.schedule!r} is unknown")
  if warmup == 0:
    return after
  return optax.join_schedules(
      [optax.linear_schedule(0.0, lr, warmup), after], boundaries=[warmup])


def make_optimizer(optim_cfg, total_updates):
  """Returns `(tx, schedule)`; `tx` already includes clipping and accumulation."""
  schedule = make_schedule(optim_cfg, total_updates)
  if optim_cfg.name == "adam":
    opt = optax.adam(schedule, b1=optim_cfg.b1, b2=optim_cfg.b2, eps=optim_cfg.eps)
  elif optim_cfg.name == "adamw":
    # decay_matrices_only: as nanoGPT/GPT-2, decay kernels and embeddings
    # (>= 2 axes), not biases, LayerNorm scales or other vectors.
    mask = ((lambda params: jax.tree.map(lambda p: p.ndim >= 2, params))
            if optim_cfg.get("decay_matrices_only", False) else None)
    opt = optax.adamw(schedule, b1=optim_cfg.b1, b2=optim_cfg.b2, eps=optim_cfg.eps,
                      weight_decay=optim_cfg.weight_decay, mask=mask)
  elif optim_cfg.name == "adagrad":
    # The MADE authors' optimizer (lr 0.01). The squared-gradient sum starts at
    # zero; optax leaves coordinates that never saw a gradient (masked weights)
    # untouched instead of dividing by sqrt(eps).
    opt = optax.adagrad(schedule, initial_accumulator_value=0.0, eps=optim_cfg.eps)
  else:
    raise ValueError(f"config.optim.name={optim_cfg.name!r} is unknown")
  if optim_cfg.l2 > 0:
    # Coupled L2: adds l2 * params to the gradient, i.e. l2/2 ||params||^2 to
    # the loss, before the optimizer rescales it (torch's Adam(weight_decay=)).
    opt = optax.chain(optax.add_decayed_weights(optim_cfg.l2), opt)
  if optim_cfg.grad_clip_norm > 0:
    opt = optax.chain(optax.clip_by_global_norm(optim_cfg.grad_clip_norm), opt)
  if optim_cfg.grad_accum_steps > 1:
    opt = optax.MultiSteps(opt, every_k_schedule=optim_cfg.grad_accum_steps)
  return opt, schedule


def did_update(tx, opt_state):
  """True if the last `tx.update` changed the params (always, without accumulation)."""
  if isinstance(tx, optax.MultiSteps):
    return tx.has_updated(opt_state)
  return jnp.asarray(True)


def ema_update(ema_params, params, decay):
  """ema <- decay * ema + (1 - decay) * params."""
  return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, ema_params, params)

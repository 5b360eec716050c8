"""`train_and_evaluate(config, workdir)`: the training loop.

Sections: setup (experiment, data, restore-or-init) -> loop (dispatch K steps,
check the previous dispatch's metrics, log, eval, checkpoint) -> final test.
Everything a resume needs is in the checkpoint: the state (params, optimizer,
EMA, step, RNG) and the early-stopping bookkeeping; the data position is the
step. Files: metrics.jsonl, tensorboard/, samples.png, config.json,
checkpoints/, checkpoints_best/, results.json, curves.png (process 0 only).
"""

import math
import os
import time

from absl import logging
from etils import epath
import jax
import numpy as np
import tqdm

from ar_jax import checkpoint
from ar_jax import evaluation
from ar_jax import experiment
from ar_jax import plots
from ar_jax import reporting
from ar_jax import sharding as sharding_lib
from ar_jax import steps


class EarlyStopping:
  """Validation-NLL bookkeeping; `patience` evals without improvement stop training."""

  def __init__(self, patience, meta=None):
    meta = meta or {}
    self.patience = patience
    self.best_nll = meta.get("best_nll")  # None until the first eval.
    self.best_step = meta.get("best_step")
    self.bad_evals = meta.get("bad_evals", 0)

  def update(self, nll, step):
    """Records an eval; True if it is the best so far (a NaN/Inf NLL never is)."""
    if math.isfinite(nll) and (self.best_nll is None or nll < self.best_nll):
      self.best_nll, self.best_step, self.bad_evals = float(nll), int(step), 0
      return True
    self.bad_evals += 1
    return False

  @property
  def should_stop(self):
    return self.patience > 0 and self.bad_evals >= self.patience

  def meta(self):
    return dict(best_nll=self.best_nll, best_step=self.best_step, bad_evals=self.bad_evals)


def train_and_evaluate(config, workdir, *, stop=None):
  """Trains, evaluates and writes to `workdir`; returns the results dict.

  Resumes from the newest good checkpoint in `workdir` if there is one. On
  SIGTERM (or `stop.request()`) saves at the current step and returns
  `{"preempted": True, "step": ...}`. Raises FloatingPointError on a
  non-finite loss or gradient, or on non-finite parameters before a save
  (nothing is saved from that step on).
  """
  exp = experiment.build(config)
  if reporting.is_writer():
    epath.Path(workdir).mkdir(parents=True, exist_ok=True)
    reporting.write_json(os.path.join(workdir, "config.json"), config.to_dict())
  with jax.set_mesh(exp.mesh), checkpoint.StopOnSigterm() as sigterm:
    return _train_and_evaluate(exp, workdir, stop or sigterm)


def _train_and_evaluate(exp, workdir, stop):
  cfg = exp.config
  t_start = time.time()
  ckpt_dir, best_dir = experiment.checkpoint_dirs(workdir)
  ckpt = checkpoint.Checkpointer(ckpt_dir, max_to_keep=cfg.train.keep_checkpoints,
                                 async_save=cfg.train.async_checkpointing)
  best = checkpoint.Checkpointer(best_dir, max_to_keep=1,
                                 async_save=cfg.train.async_checkpointing)
  writer = reporting.MetricWriter(workdir)
  try:
    train_data = exp.batches(cfg.data.train_split, train=True)
    eval_data = exp.batches(cfg.data.eval_split, train=False)
    restored = ckpt.restore(exp.abstract)
    if restored is None:
      state, meta = experiment.init_state(exp), {}
      logging.info("initialized a new state")
    else:
      state, meta, _ = restored
      logging.info("resumed from %s at step %d", ckpt_dir, int(meta["step"]))
    es = EarlyStopping(cfg.train.early_stopping_patience, meta)
    loop = _Loop(exp, workdir, ckpt, best, writer, es, train_data, eval_data, stop)
    loop.resumed_from = meta.get("step")
    loop.last_eval_step = meta.get("last_eval_step")
    loop.prior_time = meta.get("train_time_s", 0.0)
    state, preempted = loop.run(state, stopped_early=meta.get("stopped_early", False))
    if preempted:
      return {"preempted": True, "step": loop.step}
    results = _final_test(exp, workdir, state, best, es, loop, t_start)
    if reporting.is_writer():
      plots.write_curves(workdir)  # curves.png; None (one log line) without matplotlib.
    return results
  finally:
    ckpt.wait()
    best.wait()
    ckpt.close()
    best.close()
    writer.close()


class _Loop:
  """The train loop's mutable bookkeeping (the step functions stay pure)."""

  def __init__(self, exp, workdir, ckpt, best, writer, es, train_data, eval_data, stop):
    self.exp, self.workdir, self.ckpt, self.best = exp, workdir, ckpt, best
    self.writer, self.es, self.stop = writer, es, stop
    self.train_data, self.eval_data = train_data, eval_data
    self.step = 0
    self.stopped_early = False
    self.window = []  # Host metrics since the last log line.
    self.resumed_from = None
    self.last_eval_step = None
    self.prior_time = 0.0
    self.t0 = time.time()

  def meta(self):
    return dict(step=self.step, stopped_early=self.stopped_early,
                last_eval_step=self.last_eval_step,
                train_time_s=self.prior_time + time.time() - self.t0, **self.es.meta())

  def _next_boundary(self, step):
    """Steps to the next log/eval/checkpoint/end event (K is capped there)."""
    t, e = self.exp.config.train, self.exp.config.eval
    nxt = min(_next_multiple(step, n) for n in
              (t.log_every_steps, t.checkpoint_every_steps, e.every_steps))
    return min(nxt, t.num_steps) - step

  def _eval_due(self):
    cfg = self.exp.config
    return self.step > 0 and (self.step % cfg.eval.every_steps == 0 or
                              self.step >= cfg.train.num_steps)

  def run(self, state, stopped_early):
    cfg = self.exp.config
    self.step = int(sharding_lib.to_host(state.step))
    self.stopped_early = stopped_early
    bat = sharding_lib.batch_sharding(self.exp.mesh, 1)
    b = cfg.train.batch_size
    pbar = tqdm.tqdm(total=cfg.train.num_steps, initial=self.step, desc="train",
                     disable=not reporting.is_writer(), dynamic_ncols=True, mininterval=1.0)
    pending = None
    self.t_log = time.time()
    self.step_log = self.step
    multi = jax.process_count() > 1
    if self._eval_due() and self.last_eval_step != self.step:
      self._eval(state)  # Preempted between its last step and its eval.
    while self.step < cfg.train.num_steps and not self.stopped_early:
      k = min(cfg.train.steps_per_dispatch, self._next_boundary(self.step))
      local = self.train_data.local_batches(self.step, k)
      batch = {name: sharding_lib.to_global(v, bat, (k, b) + v.shape[2:])
               for name, v in local.items()}
      state, metrics = self.exp.train_fn(state, batch)
      if pending is not None:
        self._consume(*pending)  # Overlaps the host check with the new dispatch.
      pending = (self.step, metrics)
      self.step += k
      pbar.update(k)
      last = self.step >= cfg.train.num_steps
      log = self.step % cfg.train.log_every_steps == 0
      do_eval = self.step % cfg.eval.every_steps == 0 or last
      save = self.step % cfg.train.checkpoint_every_steps == 0 or last
      stop_now = self.stop.requested() if (log or not multi) else False
      if log or do_eval or save or stop_now:
        self._consume(*pending)
        pending = None
      if log:
        self._log(pbar)
      if stop_now:
        self._save(self.ckpt, state)
        self.ckpt.wait()
        logging.warning("stopped by request: checkpoint saved at step %d", self.step)
        pbar.close()
        return state, True
      if do_eval:
        self._eval(state)
      if save or self.stopped_early:
        self._save(self.ckpt, state)
    if pending is not None:
      self._consume(*pending)
    pbar.close()
    return state, False

  def _consume(self, first_step, metrics):
    """Pulls a dispatch's metrics to the host; raises on a non-finite step."""
    m = sharding_lib.to_host(metrics)
    bad = np.flatnonzero(~m["finite"])
    if bad.size:
      j = int(bad[0])
      raise FloatingPointError(
          f"non-finite training step {first_step + j + 1}: loss={m['loss'][j]}, "
          f"grad_norm={m['grad_norm'][j]} (lr={m['lr'][j]:.3g}). The update was not "
          f"applied and nothing from this step on is saved; {self._nonfinite_hint()}")
    self.window.append(m)

  def _save(self, checkpointer, state):
    """Saves `state` unless a leaf is non-finite (then raises: never save NaNs).

    The step guards non-finite losses and gradients; this catches an optimizer
    that turned finite gradients into a non-finite update.
    """
    if not bool(steps.params_finite(state)):
      raise FloatingPointError(
          f"non-finite parameters or optimizer state at step {self.step}, although "
          f"every loss and gradient was finite: the optimizer produced a non-finite "
          f"update (lr={self.exp.config.optim.lr:.3g}). Nothing from this step on is "
          f"saved; {self._nonfinite_hint()}")
    checkpointer.save(self.step, state, self.meta())

  def _nonfinite_hint(self):
    return (f"the last good checkpoint is step {self.ckpt.latest_step()} in "
            f"{self.ckpt.directory}. Try a lower config.optim.lr or set "
            "config.optim.grad_clip_norm.")

  def _log(self, pbar):
    if not self.window:
      return
    cat = {k: np.concatenate([np.atleast_1d(w[k]) for w in self.window])
           for k in ("loss", "grad_norm", "lr")}
    self.window = []
    now = time.time()
    sps = (self.step - self.step_log) / max(now - self.t_log, 1e-9)
    self.t_log, self.step_log = now, self.step
    loss = float(cat["loss"].mean())
    scalars = dict(
        loss=loss, bpd=loss / (self.exp.num_dims * math.log(2.0)),
        grad_norm=float(cat["grad_norm"].mean()), lr=float(cat["lr"][-1]),
        steps_per_sec=sps, examples_per_sec=sps * self.exp.config.train.batch_size,
        epoch=self.step / self.train_data.steps_per_epoch)
    self.writer.write(self.step, "train", scalars)
    pbar.set_postfix(loss=f"{loss:.3f}", refresh=False)

  def _eval(self, state):
    cfg = self.exp.config
    self.last_eval_step = self.step
    params = state.eval_params()
    res = evaluation.evaluate(self.exp, params, cfg.data.eval_split, self.eval_data)
    improved = self.es.update(res["nll"], self.step)
    self.stopped_early = self.es.should_stop
    self.writer.write(self.step, cfg.data.eval_split, dict(
        nll=res["nll"], bpd=res["bpd"], best_nll=self.es.best_nll,
        bad_evals=self.es.bad_evals))
    logging.info("step %d: %s NLL %.4f nats (%.4f bits/dim)%s", self.step,
                 cfg.data.eval_split, res["nll"], res["bpd"], " *best*" if improved else "")
    if improved:
      self._save(self.best, state)
    if self.stopped_early:
      logging.info("early stopping at step %d: no better %s NLL in %d evals (best "
                   "%.4f at step %d)", self.step, cfg.data.eval_split,
                   self.es.patience, self.es.best_nll, self.es.best_step)
    if cfg.eval.num_samples:
      key = jax.random.fold_in(self.exp.key("sample"), self.step)
      grid = evaluation.sample_grid(self.exp, params, key, cfg.eval.num_samples,
                                    arrays=self.eval_data.arrays)
      reporting.save_png(os.path.join(self.workdir, "samples.png"), grid)


def _next_multiple(step, n):
  return (step // n + 1) * n


def _final_test(exp, workdir, state, best, es, loop, t_start):
  """Test NLL of the best-by-validation checkpoint (its EMA params if kept)."""
  cfg = exp.config
  best.wait()
  source = "final"
  params = state.eval_params()
  if best.latest_step() is not None:
    best_state, _, best_step = best.restore(exp.abstract)
    params, source = best_state.eval_params(), f"best@{best_step}"
  source += " (ema)" if state.ema_params is not None else ""
  res = evaluation.evaluate(exp, params, cfg.data.test_split)
  loop.writer.write(loop.step, cfg.data.test_split, dict(nll=res["nll"], bpd=res["bpd"]))
  devices = jax.devices()
  results = dict(
      test_nll=res["nll"], test_bpd=res["bpd"], test_examples=res["num_examples"],
      **({"test_tokens": res["num_tokens"]} if "num_tokens" in res else {}),
      test_params=source, best_validation_nll=es.best_nll, best_step=es.best_step,
      steps=loop.step, epochs=loop.step / loop.train_data.steps_per_epoch,
      stopped_early=loop.stopped_early, resumed_from_step=loop.resumed_from,
      wall_time_s=time.time() - t_start, train_time_s=loop.meta()["train_time_s"],
      device_kind=devices[0].device_kind, device_count=len(devices),
      process_count=jax.process_count(), config=cfg.to_dict())
  reporting.write_json(os.path.join(workdir, "results.json"), results)
  logging.info("test NLL %.4f nats (%.4f bits/dim) with %s params", res["nll"],
               res["bpd"], source)
  return results

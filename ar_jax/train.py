"""`train_and_evaluate(config, workdir)`: the training loop.

Sections: setup (experiment, data, restore-or-init) -> loop (dispatch K steps,
check the previous dispatch's metrics, log, eval, checkpoint) -> final test.
Everything a resume needs is in the checkpoint: the state (params, optimizer,
EMA, step, RNG) and the early-stopping bookkeeping; the data position is the
step. Files: metrics.jsonl, tensorboard/, samples.png, config.json,
checkpoints/, checkpoints_best/, results.json, curves.png (process 0 only).
"""

import contextlib
import datetime
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
from ar_jax import train_state
from ar_jax import workdir as run_dir


def train_and_evaluate(config, workdir, *, stop=None, allow_config_change=False):
  """Trains, evaluates and writes to `workdir`; returns the results dict.

  Resumes from the newest good checkpoint in `workdir` if there is one. A
  relaunch whose config changes run-defining keys is refused
  (`workdir.IncompatibleResumeError`) unless `allow_config_change`. Nothing in
  `workdir` is created or changed until the config, the data and the restore
  check have passed. On SIGTERM or SIGINT (or `stop.request()`) saves at the
  current step and returns `{"preempted": True, "step": ...}`. Raises
  FloatingPointError on a non-finite loss or gradient, or on non-finite
  parameters before a save (nothing is saved from that step on).
  """
  exp = experiment.build(config)
  saved = run_dir.read_saved_config(workdir)
  if saved is not None:
    run_dir.check_resume(saved, config.to_dict(), workdir=workdir,
                         allow_config_change=allow_config_change)
  with jax.set_mesh(exp.mesh), checkpoint.StopOnSignal() as signalled:
    return _train_and_evaluate(exp, workdir, stop or signalled)


def _restore_run(exp, ckpt_dir):
  """The `RunState` to start from: the newest good checkpoint, or a fresh init.

  Opens no checkpoint manager (so creates nothing) when there is no
  checkpoint directory yet.
  """
  cfg = exp.config
  restored = None
  if epath.Path(ckpt_dir).exists():
    with checkpoint.Checkpointer(ckpt_dir, max_to_keep=cfg.train.keep_checkpoints,
                                 async_save=False) as ckpt:
      restored = ckpt.restore(exp.abstract)
  if restored is None:
    logging.info("initialized a new state")
    return train_state.RunState(experiment.init_state(exp), train_state.Progress())
  state, meta, step = restored
  logging.info("resumed from %s at step %d", ckpt_dir, step)
  return train_state.RunState(state, train_state.Progress.from_meta(meta), resumed_from=step)


def _train_and_evaluate(exp, workdir, stop):
  cfg = exp.config
  t_start = time.time()
  ckpt_dir, best_dir = experiment.checkpoint_dirs(workdir)
  train_data = exp.batches(cfg.data.train_split, train=True)
  eval_data = exp.batches(cfg.data.eval_split, train=False)
  run = _restore_run(exp, ckpt_dir)
  # The launch is valid: only now does the workdir change.
  if reporting.is_writer():
    epath.Path(workdir).mkdir(parents=True, exist_ok=True)
    reporting.write_json(os.path.join(workdir, run_dir.CONFIG_FILE), cfg.to_dict())
  with contextlib.ExitStack() as stack:
    ckpt = stack.enter_context(checkpoint.Checkpointer(
        ckpt_dir, max_to_keep=cfg.train.keep_checkpoints,
        async_save=cfg.train.async_checkpointing))
    best = stack.enter_context(checkpoint.Checkpointer(
        best_dir, max_to_keep=1, async_save=cfg.train.async_checkpointing))
    # Rows the resumed run writes again at its first step: the final test, and
    # the eval if the checkpoint was saved before it (a stop request).
    redo = (cfg.data.test_split,) + (
        () if run.progress.last_eval_step == run.progress.step else (cfg.data.eval_split,))
    writer = reporting.MetricWriter(workdir, resume_step=run.progress.step,
                                    final_splits=redo)
    stack.callback(writer.close)
    loop = _Loop(exp, workdir, ckpt, best, writer, train_data, eval_data, stop)
    run, preempted = loop.run(run)
    if preempted:
      return {"preempted": True, "step": run.progress.step}
    best.wait()
    results = _final_test(exp, workdir, run, best, writer, t_start,
                          train_data.steps_per_epoch)
  if reporting.is_writer():  # After the writer closed: metrics.jsonl is complete.
    plots.write_curves(workdir)  # curves.png; None (one log line) without matplotlib.
  return results


class _Loop:
  """Runs the steps of a `RunState`; its progress is the only mutable bookkeeping."""

  def __init__(self, exp, workdir, ckpt, best, writer, train_data, eval_data, stop):
    self.exp, self.workdir, self.ckpt, self.best = exp, workdir, ckpt, best
    self.writer, self.stop = writer, stop
    self.train_data, self.eval_data = train_data, eval_data
    self.window = []  # Host metrics since the last log line.
    self.unit = evaluation.bits_unit(exp)
    self.prior_time = 0.0
    self.t0 = time.time()
    self.run_state = None

  @property
  def progress(self):
    return self.run_state.progress

  def _next_boundary(self, step):
    """Steps to the next log/eval/checkpoint/end event (K is capped there)."""
    t, e = self.exp.config.train, self.exp.config.eval
    nxt = min(_next_multiple(step, n) for n in
              (t.log_every_steps, t.checkpoint_every_steps, e.every_steps))
    return min(nxt, t.num_steps) - step

  def _eval_due(self):
    cfg, step = self.exp.config, self.progress.step
    return step > 0 and (step % cfg.eval.every_steps == 0 or step >= cfg.train.num_steps)

  def run(self, run):
    """Trains `run` to the end (or a stop request); returns `(run, preempted)`."""
    cfg = self.exp.config
    self.run_state = run
    p = run.progress
    p.step = int(sharding_lib.to_host(run.train.step))
    self.prior_time = p.train_time_s
    bat = sharding_lib.batch_sharding(self.exp.mesh, 1)
    b = cfg.train.batch_size
    pbar = tqdm.tqdm(total=cfg.train.num_steps, initial=p.step, desc="train",
                     disable=not reporting.is_writer(), dynamic_ncols=True, mininterval=1.0)
    pending = None
    self.t_log = time.time()
    self.step_log = p.step
    multi = jax.process_count() > 1
    if self._eval_due() and p.last_eval_step != p.step:
      self._eval()  # Preempted between its last step and its eval.
    while p.step < cfg.train.num_steps and not p.stopped_early:
      k = min(cfg.train.steps_per_dispatch, self._next_boundary(p.step))
      local = self.train_data.local_batches(p.step, k)
      batch = {name: sharding_lib.to_global(v, bat, (k, b) + v.shape[2:])
               for name, v in local.items()}
      run.train, metrics = self.exp.train_fn(run.train, batch)
      if pending is not None:
        self._consume(*pending)  # Overlaps the host check with the new dispatch.
      pending = (p.step, metrics)
      p.step += k
      pbar.update(k)
      last = p.step >= cfg.train.num_steps
      log = p.step % cfg.train.log_every_steps == 0
      do_eval = p.step % cfg.eval.every_steps == 0 or last
      save = p.step % cfg.train.checkpoint_every_steps == 0 or last
      stop_now = self.stop.requested() if (log or not multi) else False
      if log or do_eval or save or stop_now:
        self._consume(*pending)
        pending = None
      if log:
        self._log(pbar)
      if stop_now:
        self._save(self.ckpt)
        self.ckpt.wait()
        logging.warning("stopped by request: checkpoint saved at step %d", p.step)
        pbar.close()
        return run, True
      if do_eval:
        self._eval()
      if save or p.stopped_early:
        self._save(self.ckpt)
    if pending is not None:
      self._consume(*pending)
    p.train_time_s = self.prior_time + time.time() - self.t0
    pbar.close()
    return run, False

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

  def _save(self, checkpointer):
    """Saves the run unless a leaf is non-finite (then raises: never save NaNs).

    The step guards non-finite losses and gradients; this catches an optimizer
    that turned finite gradients into a non-finite update.
    """
    p = self.progress
    if not bool(steps.params_finite(self.run_state.train)):
      raise FloatingPointError(
          f"non-finite parameters or optimizer state at step {p.step}, although "
          f"every loss and gradient was finite: the optimizer produced a non-finite "
          f"update (lr={self.exp.config.optim.lr:.3g}). Nothing from this step on is "
          f"saved; {self._nonfinite_hint()}")
    p.train_time_s = self.prior_time + time.time() - self.t0
    checkpointer.save(p.step, self.run_state.train, p.to_meta())

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
    step = self.progress.step
    now = time.time()
    sps = (step - self.step_log) / max(now - self.t_log, 1e-9)
    self.t_log, self.step_log = now, step
    loss = float(cat["loss"].mean())
    bits = loss / (self.exp.num_dims * math.log(2.0))
    scalars = dict(
        loss=loss, bpd=bits, grad_norm=float(cat["grad_norm"].mean()),
        lr=float(cat["lr"][-1]), steps_per_sec=sps,
        examples_per_sec=sps * self.exp.config.train.batch_size,
        epoch=step / self.train_data.steps_per_epoch)
    self.writer.write(step, "train", scalars)
    # The unit validation reports: nats per example, or bits per char/position.
    shown = (f"{bits:.4f} {self.unit}" if self.exp.data.is_stream else f"{loss:.3f} nats")
    pbar.set_postfix(nll=shown, refresh=False)

  def _eval(self):
    cfg, p = self.exp.config, self.progress
    params = self.run_state.train.eval_params()
    res = evaluation.evaluate(self.exp, params, cfg.data.eval_split, self.eval_data)
    improved = p.record_eval(res["nll"], p.step)
    p.stopped_early = p.out_of_patience(cfg.train.early_stopping_patience)
    self.writer.write(p.step, cfg.data.eval_split, dict(
        nll=res["nll"], bpd=res["bpd"], best_nll=p.best_nll, bad_evals=p.bad_evals))
    logging.info("step %d: %s NLL %.4f nats (%.4f %s)%s", p.step, cfg.data.eval_split,
                 res["nll"], res["bpd"], self.unit, " *best*" if improved else "")
    if improved:
      self._save(self.best)
    if p.stopped_early:
      logging.info("early stopping at step %d: no better %s NLL in %d evals (best "
                   "%.4f at step %d)", p.step, cfg.data.eval_split,
                   cfg.train.early_stopping_patience, p.best_nll, p.best_step)
    if cfg.eval.num_samples:
      key = jax.random.fold_in(self.exp.key("sample"), p.step)
      grid = evaluation.sample_grid(self.exp, params, key, cfg.eval.num_samples,
                                    arrays=self.eval_data.arrays)
      reporting.save_png(os.path.join(self.workdir, "samples.png"), grid)


def _next_multiple(step, n):
  return (step // n + 1) * n


def _final_test(exp, workdir, run, best, writer, t_start, steps_per_epoch):
  """Test NLL of the best-by-validation checkpoint (its EMA params if kept).

  `eval.test_params="final"` scores the last step's params instead; with
  `eval.test_draws` = N > 1 the NLL is the mean over N dynamic binarizations
  of the test split (each draw's NLL is kept in `test_nll_draws`).
  """
  cfg, p = exp.config, run.progress
  source = "final"
  params = run.train.eval_params()
  if cfg.eval.test_params == "best" and best.latest_step() is not None:
    best_state, _, best_step = best.restore(exp.abstract, fallback=False)
    params, source = best_state.eval_params(), f"best@{best_step}"
  source += " (ema)" if run.train.ema_params is not None else ""
  batches = exp.batches(cfg.data.test_split, train=False)
  draws = [evaluation.evaluate(exp, params, cfg.data.test_split, batches, draw=d)
           for d in range(cfg.eval.test_draws)]
  res = dict(draws[0], nll=float(np.mean([r["nll"] for r in draws])),
             bpd=float(np.mean([r["bpd"] for r in draws])))
  writer.write(p.step, cfg.data.test_split, dict(nll=res["nll"], bpd=res["bpd"]))
  devices = jax.devices()
  results = dict(
      test_nll=res["nll"], test_bpd=res["bpd"], test_examples=res["num_examples"],
      **({"test_tokens": res["num_tokens"]} if "num_tokens" in res else {}),
      **({"test_nll_draws": [r["nll"] for r in draws]} if len(draws) > 1 else {}),
      test_params=source, best_validation_nll=p.best_nll, best_step=p.best_step,
      steps=p.step, epochs=p.step / steps_per_epoch,
      stopped_early=p.stopped_early, resumed_from_step=run.resumed_from,
      wall_time_s=time.time() - t_start, train_time_s=p.train_time_s,
      device_kind=devices[0].device_kind, device_count=len(devices),
      process_count=jax.process_count(),
      date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
      config=cfg.to_dict())
  reporting.write_json(os.path.join(workdir, "results.json"), results)
  logging.info("test NLL %.4f nats (%.4f %s) with %s params", res["nll"], res["bpd"],
               evaluation.bits_unit(exp), source)
  return results

"""Checkpoints: a thin wrapper around orbax's `CheckpointManager`, and SIGTERM.

The only orbax import in ar_jax. It uses the V0 manager API
(`ocp.CheckpointManager` + `ocp.args.Composite(StandardSave, JsonSave)`), which
works with orbax-checkpoint 0.12.8 on CPU/GPU/TPU and saves asynchronously.
A checkpoint holds the `TrainState` pytree plus a small JSON dict (early
stopping bookkeeping); the data position is the step itself.

Robustness: orbax writes into a tmp dir and renames it when complete, so an
interrupted save is never listed. A listed step that fails to restore
(truncated or missing files) is skipped for the next older one, and moved to
`<dir>_corrupt/` with a warning once an older one restores.
"""

import os
import signal
import threading
import time

from absl import logging
from etils import epath
import jax
import orbax.checkpoint as ocp


class Checkpointer:
  """Keeps the last `max_to_keep` checkpoints of (state, meta) in `directory`."""

  def __init__(self, directory, *, max_to_keep, async_save=True):
    remote = "://" in str(directory)  # gs://..., handled by orbax via epath.
    self.directory = str(directory) if remote else os.path.abspath(directory)
    # A per-directory barrier prefix: without it the periodic and the best
    # manager saving the same step at once collide on orbax's multi-process
    # barrier name (`_async_write_complete.<step>`) and hang.
    prefix = os.path.basename(self.directory.rstrip("/"))
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True,
        enable_async_checkpointing=async_save,
        multiprocessing_options=ocp.options.MultiprocessingOptions(
            barrier_sync_key_prefix=prefix))
    self._mgr = ocp.CheckpointManager(self.directory, options=options)
    self._saved = set()

  def all_steps(self):
    return sorted(self._mgr.all_steps())

  def latest_step(self):
    return self._mgr.latest_step()

  def save(self, step, state, meta):
    """Starts saving (async); a step saved before is skipped."""
    step = int(step)
    if step in self._saved or step in self._mgr.all_steps():
      return False
    self._mgr.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=True)
    self._saved.add(step)
    return True

  def restore(self, abstract_state, step=None, quarantine=True):
    """`(state, meta, step)` from `step`, or from the newest good one; None if none.

    `abstract_state` is a pytree of `jax.ShapeDtypeStruct` with shardings; the
    restored arrays land in those shardings. With `step=None`, checkpoints that
    fail to restore are skipped for the newest one that does; the skipped ones
    are then moved aside (unless `quarantine=False`, for read-only use). If
    none restores, nothing is moved and the newest error is raised: that is a
    config that no longer matches the checkpoints, not corruption.
    """
    if step is not None:
      return self._restore_step(abstract_state, step) + (step,)
    failed = []
    for s in sorted(self._mgr.all_steps(), reverse=True):
      try:
        state, meta = self._restore_step(abstract_state, s)
      except Exception as e:  # pylint: disable=broad-exception-caught
        logging.warning("checkpoint %s/%d is unreadable (%s: %s)", self.directory, s,
                        type(e).__name__, str(e).splitlines()[0][:300])
        failed.append((s, e))
        continue
      for bad, _ in failed:
        if quarantine:
          self._quarantine(bad)
      if failed:
        logging.warning("fell back from step %d to step %d", failed[0][0], s)
      return state, meta, s
    if failed:
      s, e = failed[0]
      raise RuntimeError(
          f"none of the checkpoints {[f for f, _ in failed]} in {self.directory} "
          f"can be restored into the state this config builds (newest, step {s}: "
          f"{type(e).__name__}: {str(e).splitlines()[0][:300]}). If the config "
          "changed (model, optim.ema_decay, optim.grad_accum_steps, ...), use a "
          "new workdir; nothing was moved or deleted.") from e
    return None

  def _restore_step(self, abstract_state, step):
    out = self._mgr.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
    return out["state"], dict(out["meta"])

  def _quarantine(self, step):
    """Moves a bad step dir aside (kept for inspection, invisible to orbax).

    It must leave the step directory: the resumed run will save that step
    again. Where a rename is not possible, the step is deleted instead.
    """
    if jax.process_index() == 0:
      src = epath.Path(self.directory) / str(step)
      dst_dir = epath.Path(self.directory + "_corrupt")
      try:
        dst_dir.mkdir(parents=True, exist_ok=True)
        src.rename(dst_dir / f"{step}-{int(time.time())}")
      except Exception as e:  # pylint: disable=broad-exception-caught
        logging.warning("could not move %s aside (%s); deleting it", src, e)
        src.rmtree(missing_ok=True)
    _barrier(f"ar_jax_quarantine_{step}")
    self._mgr.reload()

  def wait(self):
    """Blocks until pending async saves are committed."""
    self._mgr.wait_until_finished()

  def close(self):
    self._mgr.close()


def _barrier(name):
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    multihost_utils.sync_global_devices(name)


class StopOnSigterm:
  """Context manager: SIGTERM sets a flag instead of killing the process.

  The train loop polls `requested()`, saves a checkpoint at the current step
  and returns normally. In a multi-process run the processes agree (any one
  signalled stops all) so that all of them take part in the final save.
  """

  def __init__(self):
    self._flag = threading.Event()
    self._previous = None

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
    return False

  def _handle(self, signum, frame):
    del signum, frame
    logging.warning("SIGTERM received: saving a checkpoint and exiting")
    self._flag.set()

  def request(self):
    """Asks for a stop, as SIGTERM would (tests, notebooks)."""
    self._flag.set()

  def requested(self):
    """True if any process was signalled (a collective when multi-process)."""
    if jax.process_count() == 1:
      return self._flag.is_set()
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    import numpy as np  # pylint: disable=import-outside-toplevel
    flags = multihost_utils.process_allgather(np.int32(self._flag.is_set()))
    return bool(np.asarray(flags).any())

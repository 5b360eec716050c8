"""Checkpoints: orbax's `CheckpointManager` plus a checksum of every array, and signals.

The only orbax import in ar_jax. It uses the V0 manager API
(`ocp.CheckpointManager` + `ocp.args.Composite(StandardSave, JsonSave)`), which
works with orbax-checkpoint 0.12.8 on CPU/GPU/TPU and saves asynchronously.
A checkpoint holds the `TrainState` pytree and a JSON dict: the loop's
progress (`train_state.Progress`) and, under `"checksums"`, the sha256 of
every array's bytes, shape and dtype, taken from the arrays handed to the
save.

What is verified:
- Orbax writes a step into a tmp dir and renames it when complete, so a save
  interrupted by a crash, a second signal or `kill -9` is never listed. The
  checksums travel inside the same commit, so they exist exactly when the
  step exists.
- Once orbax has committed a step, `<step>/ar_jax_files.sha256.json` records
  the sha256 of every file in it. A restore first compares every file (any
  flipped bit, even in bytes a restore would not read, is found before orbax
  touches the step); a step without the manifest (a crash right after the
  commit) restores with a warning, verified by its array checksums alone.
- A restore hashes every restored array and compares it with the recorded
  checksums (`CorruptCheckpointError` on any difference, or when the arrays
  cannot be read at all). This does not depend on orbax's file layout: a
  flipped bit in the array data either breaks decoding or changes a value.
- Training falls back from a corrupt step to the newest good one and moves the
  corrupt one to `<dir>_corrupt/<step>-<time>` (kept for inspection, invisible
  to orbax), naming both. `eval` and `sample` restore one step and refuse a
  corrupt one.
- A step saved without checksums (by an older ar_jax) restores with a warning.
"""

import hashlib
import json
import logging as pylogging
import os
import signal
import threading
import time

from absl import logging
from etils import epath
import jax
import numpy as np
import orbax.checkpoint as ocp

from ar_jax import sharding as sharding_lib


MANIFEST = "ar_jax_files.sha256.json"


class _DropOrbaxOrphanTasks(pylogging.Filter):
  """Drops asyncio's "... exception was never retrieved" for orbax's read tasks.

  When one array of a checkpoint fails to read, orbax raises the first error
  and leaves its sibling read tasks unretrieved; asyncio then logs each one at
  garbage collection. The restore has already reported the failure (once, as
  `CorruptCheckpointError`), so these repeats are noise.
  """

  def filter(self, record):
    msg = record.getMessage()
    return not ("never retrieved" in msg and ("orbax" in msg or "tensorstore" in msg))


pylogging.getLogger("asyncio").addFilter(_DropOrbaxOrphanTasks())


class CheckpointError(ValueError):
  """A checkpoint that cannot be used: corrupt, or not matching the config."""


class CorruptCheckpointError(CheckpointError):
  """A checkpoint whose bytes differ from what was saved (or cannot be decoded)."""


def array_checksums(state):
  """`{leaf path: "sha256:<hex> <dtype> <shape>"}` of a pytree's arrays (host copy)."""
  host = sharding_lib.to_host(state)
  out = {}
  for path, leaf in jax.tree_util.tree_leaves_with_path(host):
    a = np.asarray(leaf)
    digest = hashlib.sha256(a.tobytes(order="C")).hexdigest()
    out[jax.tree_util.keystr(path)] = f"sha256:{digest} {a.dtype} {list(a.shape)}"
  return out


def _compare_checksums(expected, actual, where):
  """Raises CorruptCheckpointError naming the first array that differs."""
  for name in sorted(set(expected) | set(actual)):
    if expected.get(name) != actual.get(name):
      raise CorruptCheckpointError(
          f"checkpoint {where} is corrupt: array {name} does not match the checksum "
          f"recorded when it was saved (saved {expected.get(name, 'nothing')}, read "
          f"{actual.get(name, 'nothing')})")


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
    self._unsealed = set()  # Saved steps whose file manifest is not written yet.

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
    return False

  def all_steps(self):
    return sorted(self._mgr.all_steps())

  def latest_step(self):
    return self._mgr.latest_step()

  def save(self, step, state, meta):
    """Starts saving (async) with the checksums of `state`; a saved step is skipped."""
    step = int(step)
    if step in self._saved or step in self._mgr.all_steps():
      return False
    meta = dict(meta, checksums=array_checksums(state))
    self._seal()
    self._mgr.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=True)
    self._saved.add(step)
    self._unsealed.add(step)
    if not self._mgr.is_saving_in_progress():
      self._seal()
    return True

  def _seal(self):
    """Waits for pending saves, then writes the file manifest of each new step."""
    if not self._unsealed:
      return
    self._mgr.wait_until_finished()
    listed = set(self._mgr.all_steps())
    for step in sorted(self._unsealed & listed):
      if jax.process_index() == 0:
        _write_file_manifest(epath.Path(self.directory) / str(step))
    self._unsealed.clear()

  def restore(self, abstract_state, step=None, fallback=True):
    """`(state, meta, step)` from `step` (default: the newest); None if there is none.

    `abstract_state` is a pytree of `jax.ShapeDtypeStruct` with shardings; the
    restored arrays land in those shardings. Every array is verified against
    its checksum. With `fallback=True` (training), a corrupt step is skipped
    for the newest good one and moved to `<dir>_corrupt/`. With
    `fallback=False` (eval, sample) a corrupt step raises
    `CorruptCheckpointError`. A step that does not fit `abstract_state` (a
    changed config) raises `CheckpointError`, and nothing is moved.
    """
    candidates = self.all_steps()[::-1] if step is None else [int(step)]
    if not candidates:
      return None
    corrupt = []
    for s in candidates:
      try:
        state, meta = self._restore_step(abstract_state, s)
      except CorruptCheckpointError as e:
        if not fallback:
          raise CorruptCheckpointError(
              f"{e}. Nothing was moved; use another checkpoint (--which=latest) or "
              "retrain.") from None
        logging.warning("%s", e)
        corrupt.append(s)
        continue
      for bad in corrupt:
        moved = self._quarantine(bad)
        logging.warning("checkpoint %s/%d is corrupt: moved to %s; resuming from the "
                        "previous good checkpoint %s/%d instead", self.directory, bad,
                        moved, self.directory, s)
      return state, meta, s
    raise CorruptCheckpointError(
        f"every checkpoint in {self.directory} (steps {corrupt}) is corrupt; nothing "
        "was moved. Move the directory aside to start over, or restore it from a "
        "backup.")

  def _restore_step(self, abstract_state, step):
    where = f"{self.directory}/{step}"
    _verify_file_manifest(epath.Path(self.directory) / str(step), where)
    try:
      meta = dict(self._mgr.restore(step, args=ocp.args.Composite(
          meta=ocp.args.JsonRestore()))["meta"])
    except Exception as e:  # pylint: disable=broad-exception-caught
      raise CorruptCheckpointError(
          f"checkpoint {where} is corrupt: its metadata cannot be read "
          f"({type(e).__name__}: {_first_line(e)})") from e
    expected = meta.pop("checksums", None)
    if expected is not None:
      _check_fits(expected, abstract_state, where)
    try:
      state = self._mgr.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract_state)))["state"]
    except Exception as e:  # pylint: disable=broad-exception-caught
      if expected is None:  # Unverified: a mismatch and damage look alike.
        raise CheckpointError(
            f"checkpoint {where} cannot be restored into the state this config builds "
            f"({type(e).__name__}: {_first_line(e)}). If the config changed, use a new "
            "workdir; nothing was moved or deleted.") from e
      raise CorruptCheckpointError(
          f"checkpoint {where} is corrupt: its arrays cannot be read "
          f"({type(e).__name__}: {_first_line(e)})") from e
    if expected is None:
      logging.warning("checkpoint %s has no checksums (saved by an older ar_jax): "
                      "restored unverified", where)
    else:
      _compare_checksums(expected, array_checksums(state), where)
    return state, meta

  def _quarantine(self, step):
    """Moves a bad step dir aside (kept for inspection, invisible to orbax).

    It must leave the step directory: the resumed run will save that step
    again. Where a rename is not possible, the step is deleted instead.
    Returns where it went.
    """
    src = epath.Path(self.directory) / str(step)
    dst = epath.Path(self.directory + "_corrupt") / f"{step}-{int(time.time())}"
    if jax.process_index() == 0:
      try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        src.rename(dst)
      except Exception as e:  # pylint: disable=broad-exception-caught
        logging.warning("could not move %s aside (%s); deleting it", src, e)
        src.rmtree(missing_ok=True)
        dst = "(deleted)"
    _barrier(f"ar_jax_quarantine_{step}")
    self._mgr.reload()
    return str(dst)

  def wait(self):
    """Blocks until pending async saves are committed (and their files hashed)."""
    self._mgr.wait_until_finished()
    self._seal()

  def close(self):
    """Waits for pending saves, then stops orbax's background machinery."""
    try:
      self.wait()
    finally:
      self._mgr.close()


def _file_digests(step_dir, prefix=""):
  """`{relative path: sha256}` of every file under `step_dir` but the manifest."""
  out = {}
  for path in sorted(step_dir.iterdir()):
    rel = prefix + path.name
    if path.is_dir():
      out.update(_file_digests(path, rel + "/"))
    elif rel != MANIFEST:
      out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
  return out


def _write_file_manifest(step_dir):
  tmp = step_dir / (MANIFEST + ".tmp")
  tmp.write_text(json.dumps(_file_digests(step_dir), indent=0, sort_keys=True))
  tmp.rename(step_dir / MANIFEST)


def _verify_file_manifest(step_dir, where):
  """Compares every file of a step with its manifest (if the step has one)."""
  path = step_dir / MANIFEST
  if not path.exists():
    logging.warning("checkpoint %s has no %s (its save was cut short after the commit, "
                    "or an older ar_jax wrote it): only its arrays are verified",
                    where, MANIFEST)
    return
  try:
    expected = json.loads(path.read_text())
  except ValueError as e:
    raise CorruptCheckpointError(f"checkpoint {where} is corrupt: {MANIFEST} cannot be "
                                 f"parsed ({e})") from e
  actual = _file_digests(step_dir)
  for rel in sorted(set(expected) | set(actual)):
    if expected.get(rel) != actual.get(rel):
      state = "missing" if rel not in actual else (
          "unexpected" if rel not in expected else "changed since it was saved")
      raise CorruptCheckpointError(f"checkpoint {where} is corrupt: file {rel} is {state}")


def _first_line(e):
  return (str(e).strip().splitlines() or [""])[0][:300]


def _check_fits(checksums, abstract_state, where):
  """Raises CheckpointError if the saved arrays' paths, dtypes or shapes differ."""
  want = {jax.tree_util.keystr(p): f"{np.dtype(a.dtype)} {list(a.shape)}"
          for p, a in jax.tree_util.tree_leaves_with_path(abstract_state)}
  have = {k: v.split(" ", 1)[1] for k, v in checksums.items()}
  if want != have:
    diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
    k = diff[0]
    raise CheckpointError(
        f"checkpoint {where} does not fit the state this config builds: {k} is "
        f"{have.get(k, 'absent')} in the checkpoint but {want.get(k, 'absent')} in "
        f"the config ({len(diff)} arrays differ). If the config changed (model, "
        "optim.ema_decay, optim.grad_accum_steps, ...), use a new workdir; nothing was "
        "moved or deleted.")


def _barrier(name):
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    multihost_utils.sync_global_devices(name)


class StopOnSignal:
  """Context manager: SIGTERM and SIGINT (Ctrl-C) ask the loop to save and stop.

  The train loop polls `requested()`, saves a checkpoint at the current step
  and returns (the launcher then exits with `main.EXIT_PREEMPTED`). A second
  signal while that is under way ends the process at once with 128 + signal
  number: orbax commits a step only when it is complete, so no partial
  checkpoint is ever listed, and the previous good one stays restorable. In
  a multi-process run the processes agree (any one signalled stops all).
  """

  SIGNALS = (signal.SIGTERM, signal.SIGINT)

  def __init__(self):
    self._flag = threading.Event()
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for s in self.SIGNALS:
        self._previous[s] = signal.signal(s, self._handle)
    return self

  def __exit__(self, *exc):
    for s, handler in self._previous.items():
      signal.signal(s, handler)
    self._previous = {}
    return False

  def _handle(self, signum, frame):
    del frame
    name = signal.Signals(signum).name
    if self._flag.is_set():
      logging.warning("second %s: exiting now, without the final save (the last "
                      "committed checkpoint is intact)", name)
      logging.flush()
      os._exit(128 + signum)  # pylint: disable=protected-access
    logging.warning("%s received: saving a checkpoint at the current step and exiting "
                    "(send it again to exit at once)", name)
    self._flag.set()

  def request(self):
    """Asks for a stop, as a signal would (tests, notebooks)."""
    self._flag.set()

  def requested(self):
    """True if any process was signalled (a collective when multi-process)."""
    if jax.process_count() == 1:
      return self._flag.is_set()
    from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
    flags = multihost_utils.process_allgather(np.int32(self._flag.is_set()))
    return bool(np.asarray(flags).any())

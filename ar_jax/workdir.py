"""The run directory as a contract: which config changes a resume accepts.

A workdir's `config.json` records the config its checkpoints were trained
with. A relaunch into the same workdir is compared with it key by key:

- resume-safe keys (`RESUME_SAFE`: the number of steps, eval/checkpoint
  cadence, logging, where the data lives, how the state is sharded) may
  change; the differences are logged;
- every other key defines the run (model, hyperparameters including seeds and
  mask/ordering specs, data, optimizer, schedule) and a difference refuses the
  launch with `IncompatibleResumeError`, naming the keys, unless the caller
  passes `allow_config_change=True` (`--allow_config_change`).

`train.num_steps` also sets the schedule length when `optim.decay_steps` is
-1 and the schedule decays; changing it then changes the schedule's shape and
is refused like a run-defining key.
"""

import json

from absl import logging
from etils import epath

CONFIG_FILE = "config.json"

RESUME_SAFE = frozenset({
    "train.num_steps", "train.log_every_steps", "train.checkpoint_every_steps",
    "train.keep_checkpoints", "train.async_checkpointing", "train.steps_per_dispatch",
    "train.early_stopping_patience", "eval.every_steps", "eval.batch_size",
    "eval.num_samples", "eval.test_draws", "eval.test_params", "data.data_dir",
    # Where the state lies on the devices, not what is trained: a run may
    # resume on another slice with or without FSDP (orbax reshards on restore).
    "train.param_sharding", "train.fsdp_min_size",
})


class IncompatibleResumeError(ValueError):
  """A relaunch whose config changes what the workdir's checkpoints were trained as."""


def flatten(tree, prefix=""):
  """`{"a.b": value}` of a nested dict (lists as tuples, so JSON round trips compare)."""
  out = {}
  for k, v in tree.items():
    key = f"{prefix}{k}"
    if isinstance(v, dict):
      out.update(flatten(v, key + "."))
    else:
      out[key] = tuple(v) if isinstance(v, list) else v
  return out


def read_saved_config(workdir):
  """The config dict a workdir's run saved, or None if it has none."""
  path = epath.Path(workdir) / CONFIG_FILE
  if not path.exists():
    return None
  return json.loads(path.read_text())


def config_diff(saved, new):
  """`{key: (saved value, new value)}` for every key that differs."""
  a, b = flatten(saved), flatten(_jsonable(new))
  return {k: (a.get(k, "<absent>"), b.get(k, "<absent>"))
          for k in sorted(set(a) | set(b)) if a.get(k, "<absent>") != b.get(k, "<absent>")}


def _jsonable(d):
  return json.loads(json.dumps(d, default=str))


def _schedule_follows_num_steps(cfg):
  optim = cfg.get("optim", {})
  return optim.get("decay_steps", -1) <= 0 and optim.get("schedule", "constant") != "constant"


def check_resume(saved, new, *, allow_config_change=False, workdir=""):
  """Refuses (or, allowed, logs) run-defining differences; logs the resume-safe ones."""
  diff = config_diff(saved, new)
  if not diff:
    return diff
  defining = {k: v for k, v in diff.items() if k not in RESUME_SAFE}
  if "train.num_steps" in diff and _schedule_follows_num_steps(saved):
    defining["train.num_steps"] = diff["train.num_steps"]
  text = lambda d: "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in d.items())
  if defining and not allow_config_change:
    hint = (" (it sets the schedule length because optim.decay_steps=-1; pass "
            "--config.optim.decay_steps to keep the schedule)"
            if "train.num_steps" in defining else "")
    raise IncompatibleResumeError(
        f"{workdir}: this config differs from the run's {CONFIG_FILE} in run-defining "
        f"keys: {text(defining)}{hint}. Use a new --workdir, or pass "
        "--allow_config_change to resume with the new values.")
  if defining:
    logging.warning("resuming with changed run-defining keys (--allow_config_change): %s",
                    text(defining))
  safe = {k: v for k, v in diff.items() if k not in defining}
  if safe:
    logging.info("resuming with changed resume-safe keys: %s", text(safe))
  return diff

r"""Thin training launcher; the logic lives in `ar_jax.train`.

  python -m ar_jax.main --config=experiments/configs/made_mnist.py:cpu \
      --workdir=runs/made --config.optim.lr=1e-3

The config is locked: an unknown `--config.<key>` or a value of the wrong type
fails at flag parsing, naming the key. Multi-process: pass
`--coordinator_address=host:port --num_processes=N --process_id=i` on every
process (or set JAX's cluster env, e.g. `JAX_COORDINATOR_ADDRESS`).

Exit codes (see docs/reliability.md):
  0   finished (results.json written)
  1   internal failure: an unexpected exception, printed with its traceback
  2   user error: bad flag, config key or value, missing file or dataset,
      corrupt data or checkpoint, incompatible resume. One line names the
      problem and the fix; `--verbose` adds the traceback
  3   training diverged (non-finite loss, gradient or update); nothing from
      that step on was saved
  75  preempted (SIGTERM or SIGINT): saved at the current step; run the same
      command again to resume
  128+N  a second signal N during that save: exited at once, the last
      committed checkpoint is intact
"""

import logging as pylogging
import os
import re
import sys
import traceback

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from ar_jax import sharding

FLAGS = flags.FLAGS

config_flags.DEFINE_config_file(
    "config", None, "Experiment config file, optionally with ':variant'.",
    lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and samples.")
flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (multi-process).")
flags.DEFINE_integer("num_processes", None, "Number of processes (multi-process).")
flags.DEFINE_integer("process_id", None, "Index of this process (multi-process).")
flags.DEFINE_bool("verbose", False, "Print the traceback of user errors too.")
flags.DEFINE_bool("allow_config_change", False,
                  "Resume a workdir although run-defining config keys changed "
                  "(model, hparams, seeds, data, optimizer, schedule).")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3
EXIT_PREEMPTED = 75  # EX_TEMPFAIL: "try again", what a restart loop waits for.

# Errors a user fixes (config, files, data, checkpoints), printed as one line.
# ValueError covers config validation, checkpoint and resume refusals and the
# data package's integrity errors; OSError covers missing or unwritable files.
USER_ERRORS = (ValueError, OSError, flags.Error, app.UsageError)


def _check_config_file(argv):
  """A `--config` file that does not exist fails naming the path (before ml_collections)."""
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      value = arg[len("--config="):]
    elif arg == "--config" and i + 1 < len(argv):
      value = argv[i + 1]
    else:
      continue
    path = value.split(":", 1)[0]
    if not os.path.isfile(path):
      raise flags.Error(
          f"--config={value}: no such config file {path!r}; pass the path of a config "
          "file, optionally with ':variant' (e.g. "
          "--config=experiments/configs/made_mnist.py:cpu)")


def parse_flags(argv, flag_values=FLAGS):
  """Parses flags; an unknown `--config.<key>` fails naming the key."""
  _check_config_file(argv)
  try:
    return flag_values(argv)
  except (AttributeError, KeyError) as e:
    msg = str(e).replace("\\'", "'")
    found = re.search(r"'(\w+)'", msg)
    name = found.group(1) if found else None
    hint = re.search(r'Did you mean "(\w+)"', msg)
    for arg in argv:
      if name and arg.startswith("--config.") and name in arg.split("=")[0].split("."):
        key = arg.split("=")[0][len("--"):]
        parent = key.rsplit(".", 1)[0]
        raise flags.Error(
            f"{arg}: unknown config key {key!r} ({parent} has no key {name!r}"
            + (f"; did you mean {hint.group(1)!r}?" if hint else "")
            + "); the config is locked, so keys can only be overridden, not "
            "added. See ar_jax/configs.py for the schema.") from None
    raise


def parse_flags_or_exit(argv):
  """`app.run` flags parser: a bad flag prints one line and exits with EXIT_USER_ERROR."""
  try:
    return parse_flags(argv)
  except flags.Error as e:
    sys.stderr.write(f"error: {_one_line(e)}\n")
    sys.exit(EXIT_USER_ERROR)


def _one_line(e):
  return " ".join(str(e).split()) or type(e).__name__


def run_command(fn, argv):
  """Runs `fn(argv)` and maps its outcome to an exit code (module docstring).

  Returns the code; user errors and divergence print one line (plus the
  traceback with --verbose), anything else its traceback.
  """
  try:
    code = fn(argv)
    return EXIT_OK if code is None else code
  except FloatingPointError as e:
    err, code, label = e, EXIT_DIVERGED, "training diverged"
  except USER_ERRORS as e:
    err, code, label = e, EXIT_USER_ERROR, "error"
  except Exception:  # pylint: disable=broad-exception-caught
    traceback.print_exc()
    return EXIT_FAILURE
  finally:
    logging.flush()
  if FLAGS.verbose:
    traceback.print_exception(err)
  sys.stderr.write(f"{label}: {_one_line(err)}" + (
      "" if FLAGS.verbose else " (--verbose shows the traceback)") + "\n")
  return code


def _quiet_orbax(record):
  # Orbax logs every save/restore step at INFO; keep its warnings and errors.
  return record.levelno >= pylogging.WARNING or "/orbax/" not in record.pathname


def setup_process():
  """Initializes multi-process JAX if asked to, and logs the topology."""
  logging.get_absl_handler().python_handler.addFilter(_quiet_orbax)
  sharding.maybe_initialize_distributed(
      FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
  logging.info("JAX process %d/%d, %d local / %d global devices (%s)",
               jax.process_index(), jax.process_count(), jax.local_device_count(),
               jax.device_count(), jax.devices()[0].device_kind)


def require(*names):
  missing = [n for n in names if getattr(FLAGS, n) is None]
  if missing:
    raise app.UsageError("missing required flag(s): " + ", ".join(f"--{n}" for n in missing))


def train(argv):
  """`ar-jax train`: returns EXIT_OK, or EXIT_PREEMPTED after a signal."""
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  require("config", "workdir")
  setup_process()
  from ar_jax import train as train_lib  # pylint: disable=import-outside-toplevel
  out = train_lib.train_and_evaluate(FLAGS.config, FLAGS.workdir,
                                     allow_config_change=FLAGS.allow_config_change)
  if out.get("preempted"):
    logging.warning("preempted at step %d: exiting with %d; run the same command again "
                    "to resume", out["step"], EXIT_PREEMPTED)
    return EXIT_PREEMPTED
  return EXIT_OK


def main(argv):
  return run_command(train, argv)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags_or_exit)

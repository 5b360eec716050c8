r"""Thin training launcher; the logic lives in `ar_jax.train`.

  python -m ar_jax.main --config=experiments/configs/made_mnist.py:cpu \
      --workdir=runs/made --config.optim.lr=1e-3

The config is locked: an unknown `--config.<key>` or a value of the wrong type
fails at flag parsing, naming the key. Multi-process: pass
`--coordinator_address=host:port --num_processes=N --process_id=i` on every
process (or set JAX's cluster env, e.g. `JAX_COORDINATOR_ADDRESS`).
"""

import logging as pylogging
import re
import sys

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


def parse_flags(argv, flag_values=FLAGS):
  """Parses flags; an unknown `--config.<key>` fails naming the key."""
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
  """`app.run` flags parser: a bad flag prints one line and exits with status 1."""
  try:
    return parse_flags(argv)
  except flags.Error as e:
    sys.stderr.write(f"FATAL Flags parsing error: {e}\n")
    sys.exit(1)


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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  require("config", "workdir")
  setup_process()
  from ar_jax import train  # pylint: disable=import-outside-toplevel
  train.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags_or_exit)

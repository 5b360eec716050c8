r"""The `ar-jax` console script: train, sample, eval, prepare, plot.

  ar-jax train   --config=experiments/configs/made_mnist.py:cpu --workdir=runs/made
  ar-jax sample  --workdir=runs/made [--which=best|latest] [--num_samples=64] [--out=x.png]
                 (a class-conditional run draws one row per class)
  ar-jax sample  --workdir=runs/char [--prompt="ROMEO:"] [--length=500] [--num_samples=1]
                 (text datasets: prints the decoded completions; --out=x.txt saves them)
  ar-jax eval    --workdir=runs/made [--which=best|latest] [--split=test]
  ar-jax prepare binarized_mnist [--data_dir=...]
  ar-jax plot    --workdir=runs/made [--workdir=runs/b --out=ab.png]
                 (curves.png: train and validation NLL against step; needs matplotlib)

`sample` and `eval` read the run's config.json unless --config is given, and
restore the newest readable checkpoint of the chosen kind (best-by-validation
by default, the latest periodic one if there is no best).
"""

import json
import os
import subprocess
import sys

from absl import app
from absl import flags
from absl import logging
from etils import epath
import jax
import jax.numpy as jnp
import ml_collections

from ar_jax import main as launcher
from ar_jax import plots

FLAGS = flags.FLAGS
flags.DEFINE_enum("which", "best", ["best", "latest"], "sample/eval: which checkpoint.")
flags.DEFINE_string("split", "test", "eval: split to evaluate.")
flags.DEFINE_integer("num_samples", 64, "sample: number of samples in the grid.")
flags.DEFINE_float("temperature", 1.0, "sample: softmax/sigmoid temperature.")
flags.DEFINE_integer("sample_seed", 0, "sample: seed of the sampling key.")
flags.DEFINE_string("out", None, "sample/eval: output path (default: in --workdir).")
flags.DEFINE_string("prompt", None, "sample, text datasets: text the samples continue.")
flags.DEFINE_integer("length", None, "sample, text datasets: characters per sample "
                     "(default: the run's data.seq_len; models whose params do not "
                     "depend on it, e.g. char_rnn, can generate longer).")

_USAGE = __doc__


def load_run_config(workdir):
  """The config a run saved (config.json), on top of the current schema."""
  from ar_jax import configs  # pylint: disable=import-outside-toplevel
  path = epath.Path(workdir) / "config.json"
  if not path.exists():
    raise app.UsageError(f"{path} not found: pass --config, or a --workdir of a run")
  saved = json.loads(path.read_text())
  c = configs.default_config()
  _merge(c, saved)
  return c


def _merge(node, values):
  for k, v in values.items():
    if isinstance(v, dict):
      if k not in node:
        node[k] = ml_collections.ConfigDict()
      _merge(node[k], v)
    else:
      node[k] = tuple(v) if isinstance(v, list) else v


def restore_state(exp, workdir, which):
  """`(state, step, kind)` of the newest checkpoint of the chosen kind, verified.

  A corrupt checkpoint is refused (`CorruptCheckpointError`), never replaced
  by an older one behind the user's back. Creates nothing in `workdir`.
  """
  from ar_jax import checkpoint, experiment  # pylint: disable=import-outside-toplevel
  periodic, best = experiment.checkpoint_dirs(workdir)
  order = [(best, "best"), (periodic, "latest")] if which == "best" else [
      (periodic, "latest")]
  for d, kind in order:
    if not epath.Path(d).exists():
      continue
    with checkpoint.Checkpointer(d, max_to_keep=1000, async_save=False) as ckpt:
      out = ckpt.restore(exp.abstract, fallback=False)
    if out is not None:
      state, _, step = out
      logging.info("restored %s step %d", d, step)
      return state, step, kind
  raise FileNotFoundError(
      f"no checkpoint in {' or '.join(d for d, _ in order)}: pass the --workdir of a "
      "run that saved one")


def _setup():
  launcher.require("workdir")
  launcher.setup_process()
  config = FLAGS.config if FLAGS.config is not None else load_run_config(FLAGS.workdir)
  from ar_jax import experiment  # pylint: disable=import-outside-toplevel
  return experiment.build(config)


def _text_model(exp, length):
  """`exp.model`, re-shaped to generate `length` tokens if its params allow it."""
  model = exp.model
  if length is None or (length,) == tuple(model.input_shape):
    return model
  if length < 1:
    raise app.UsageError(f"--length={length} must be positive")
  longer = model.clone(input_shape=(length,))
  shapes = lambda m: jax.tree.map(lambda a: a.shape, jax.eval_shape(
      m.init, jax.random.key(0), jnp.zeros((1,) + m.input_shape, jnp.int32)))
  if shapes(longer) != shapes(model):
    raise app.UsageError(
        f"--length={length}: the parameters of {type(model).__name__} depend on the "
        f"sequence length (trained with data.seq_len={model.input_shape[0]}); "
        "leave --length unset or at most that")
  return longer


def _sample_text(exp, params, key):
  """Prints (and with --out saves) decoded samples, continuing --prompt."""
  from ar_jax import reporting, sampling  # pylint: disable=import-outside-toplevel
  from ar_jax import sharding as sharding_lib  # pylint: disable=import-outside-toplevel
  from ar_jax.data import text  # pylint: disable=import-outside-toplevel
  data_cfg = exp.config.data
  vocab = text.load_vocabulary(data_cfg.name, data_dir=data_cfg.data_dir)
  try:
    prompt = vocab.encode(FLAGS.prompt or "")
  except ValueError as e:
    raise app.UsageError(f"--prompt={FLAGS.prompt!r}: {e}") from None
  model = _text_model(exp, FLAGS.length)
  n = FLAGS.num_samples if FLAGS["num_samples"].present else 1
  try:
    x_init, known = sampling.prompt_inputs(prompt, n, model.input_shape)
  except ValueError as e:
    raise app.UsageError(f"--prompt: {e} (--length)") from None
  key = jax.device_put(key, sharding_lib.replicated(exp.mesh))
  x = sampling.sample(model, {"params": params}, key, n, x_init=x_init, known=known,
                      temperature=FLAGS.temperature)
  texts = [vocab.decode(row) for row in sharding_lib.to_host(x)]
  if reporting.is_writer():
    out = "\n\n----\n\n".join(texts)
    print(out)
    if FLAGS.out:
      epath.Path(FLAGS.out).write_text(out + "\n")


def _sample(argv):
  del argv
  from ar_jax import evaluation, reporting  # pylint: disable=import-outside-toplevel
  from ar_jax.data import text  # pylint: disable=import-outside-toplevel
  exp = _setup()
  is_text = text.is_text_dataset(exp.config.data.name)
  if not is_text and (FLAGS.prompt is not None or FLAGS.length is not None):
    raise app.UsageError(
        f"--prompt/--length continue text, but data.name={exp.config.data.name!r} "
        f"is not a text dataset (text datasets: {sorted(text.TEXT_DATASETS)}); "
        "drop them to draw an image grid")
  with jax.set_mesh(exp.mesh):
    state, step, kind = restore_state(exp, FLAGS.workdir, FLAGS.which)
    if is_text:
      _sample_text(exp, state.eval_params(), jax.random.key(FLAGS.sample_seed))
      return
    key = jax.random.key(FLAGS.sample_seed)
    grid = evaluation.sample_grid(exp, state.eval_params(), key, FLAGS.num_samples,
                                  temperature=FLAGS.temperature)
  out = FLAGS.out or os.path.join(FLAGS.workdir, f"samples_{kind}_{step}.png")
  reporting.save_png(out, grid)
  if reporting.is_writer():
    print(out)


def _eval(argv):
  """Prints the result first, then writes it (a write error cannot hide the NLL)."""
  del argv
  from ar_jax import evaluation, reporting  # pylint: disable=import-outside-toplevel
  exp = _setup()
  with jax.set_mesh(exp.mesh):
    state, step, kind = restore_state(exp, FLAGS.workdir, FLAGS.which)
    res = evaluation.evaluate(exp, state.eval_params(), FLAGS.split)
  res.update(split=FLAGS.split, checkpoint=kind, step=step,
             unit=evaluation.bits_unit(exp))
  if reporting.is_writer():
    print(json.dumps(res), flush=True)
  out = FLAGS.out or os.path.join(FLAGS.workdir, f"eval_{FLAGS.split}_{kind}.json")
  try:
    reporting.write_json(out, res)
  except OSError as e:
    raise OSError(f"the result above was not saved: cannot write {out} ({e.strerror or e}); "
                  "pass --out=<writable path>") from e


def _prepare(rest):
  """Delegates to the data package's own CLI, arguments unchanged."""
  return subprocess.call([sys.executable, "-m", "ar_jax.data.prepare", *rest])


_COMMANDS = {"train": launcher.train, "sample": _sample, "eval": _eval}


def main(argv=None):
  """Console-script entry; exits with the command's code (see `ar_jax.main`).

  `argv` defaults to sys.argv (and replaces it if given). absl flags are
  process globals: one process runs one command.
  """
  if argv is not None:
    sys.argv = list(argv)  # config_flags reads the --config.* overrides from sys.argv.
  argv = list(sys.argv)
  if len(argv) < 2 or argv[1] not in (*_COMMANDS, "prepare", "plot"):
    sys.stderr.write(_USAGE)
    return launcher.EXIT_USER_ERROR
  cmd, rest = argv[1], argv[2:]
  if cmd == "prepare":
    return _prepare(rest)
  if cmd == "plot":
    return plots.main(rest)
  # Exits (SystemExit) with the command's code.
  app.run(lambda a: launcher.run_command(_COMMANDS[cmd], a),
          argv=[f"ar-jax {cmd}"] + rest, flags_parser=launcher.parse_flags_or_exit)


if __name__ == "__main__":
  sys.exit(main())

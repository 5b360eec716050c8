"""The training config schema: defaults, value checks that name the key, loading.

`default_config()` holds every key the trainer reads; experiment files
(`experiments/configs/*.py`, `get_config(arg)`) start from it and override
values. Launchers lock the config (`lock_config=True`), so an unknown
`--config.foo` fails at flag parsing and a wrongly typed value fails when
assigned; `validate(config)` then checks the values that a type cannot
(choices, ranges) before any data is loaded or anything compiled. `load`,
`load_sibling` and `import_sibling` import config files (and the modules
beside them) by path, as `--config=FILE[:ARG]` does.
"""

import importlib.util
import pathlib

import ml_collections
from ml_collections import config_dict

BINARIZATIONS = ("fixed", "dynamic", "threshold", "none")
PROCESS_SHARDINGS = ("batch", "split")
OPTIMIZERS = ("adam", "adamw", "adagrad")
SCHEDULES = ("constant", "cosine", "exponential")
TEST_PARAMS = ("best", "final")
PARAM_SHARDINGS = ("replicated", "fsdp")


def default_config():
  """All keys the trainer reads, with defaults."""
  c = ml_collections.ConfigDict()
  c.seed = 0  # Root of every RNG stream (init, train steps, sampling, data order).

  c.data = ml_collections.ConfigDict()
  # A key of ar_jax.data.DATASETS, a standard TFDS name prepared in the data
  # dir (e.g. "cifar10"), or a synthetic stand-in, sized by its name (e.g.
  # "synthetic:shape=4x4x1,classes=256"; see ar_jax/data/synthetic.py).
  c.data.name = "binarized_mnist"
  # fixed: stored binary data as is; dynamic: Bernoulli(k/256) per step from
  # 8-bit data; threshold: k >= 128; none: the stored values as they are
  # (8-bit pixels as 256 classes, tokens, real values).
  c.data.binarization = "fixed"
  # The dataset feature passed to the model as `cond` (e.g. "label" for a
  # class-conditional model); None: unconditional.
  c.data.cond_feature = config_dict.placeholder(str)
  # Window length T for stream datasets (token sequences): the model sees
  # [B, T]; 0 for datasets of examples.
  c.data.seq_len = 0
  c.data.data_dir = config_dict.placeholder(str)  # None: ar_jax.data's default.
  c.data.train_split = "train"
  c.data.eval_split = "validation"  # Early stopping and best checkpoint.
  c.data.test_split = "test"  # Evaluated once, at the end.
  # batch: every process holds the whole split and feeds its rows of each
  # global batch (the data order is independent of the process count);
  # split: each process loads only its 1/P shard (less memory, order depends on P).
  c.data.process_sharding = "batch"

  c.model = ml_collections.ConfigDict()
  c.model.name = "made"  # A key of the ar_jax.models registry.
  # Passed as ar_jax.models.get(name, **hparams); unknown names fail there.
  # input_shape defaults to the dataset's shape, num_classes to the data's, and
  # cond_classes / cond_size (when the model declares them) to the cond feature's.
  c.model.hparams = ml_collections.ConfigDict()

  c.optim = ml_collections.ConfigDict()
  c.optim.name = "adam"
  c.optim.lr = 1e-3  # Peak learning rate (after warmup).
  c.optim.b1 = 0.9
  c.optim.b2 = 0.999
  c.optim.eps = 1e-8  # adam/adamw: added to sqrt(v); adagrad: to the squared sum.
  c.optim.weight_decay = 0.0  # adamw only (decoupled).
  c.optim.decay_matrices_only = False  # adamw: decay only params with >= 2 axes.
  c.optim.l2 = 0.0  # Any optimizer: l2 * params added to the gradient (coupled L2).
  c.optim.warmup_steps = 0  # Linear 0 -> lr, in optimizer updates.
  c.optim.schedule = "constant"
  # cosine: to lr * end_lr_factor over decay_steps (-1: all remaining updates).
  c.optim.decay_steps = -1
  c.optim.end_lr_factor = 0.0
  c.optim.decay_rate = 0.5  # exponential: lr * decay_rate ** (t / decay_steps).
  c.optim.grad_clip_norm = 0.0  # 0 disables global-norm clipping.
  c.optim.grad_accum_steps = 1  # Micro-batches per optimizer update.
  c.optim.ema_decay = 0.0  # 0 disables the EMA of params.

  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 100  # Global, over all devices and processes.
  c.train.num_steps = 10_000  # Micro-batches (= updates when grad_accum_steps=1).
  c.train.steps_per_dispatch = 1  # Train steps scanned inside one jitted call.
  c.train.log_every_steps = 100
  c.train.checkpoint_every_steps = 1000
  c.train.keep_checkpoints = 2
  c.train.async_checkpointing = True
  # How the train state lies on the devices (ar_jax/sharding.py). replicated:
  # every device holds all params and optimizer state. fsdp: each param,
  # optimizer moment and EMA leaf of >= fsdp_min_size elements is split over
  # the 'data' mesh axis (each device holds 1/N); smaller leaves stay replicated.
  c.train.param_sharding = "replicated"
  c.train.fsdp_min_size = 2**16
  # Stop after this many evals without a better validation NLL; 0 disables.
  c.train.early_stopping_patience = 0

  c.eval = ml_collections.ConfigDict()
  c.eval.every_steps = 1000
  c.eval.batch_size = 500  # Global; the last partial batch is padded and masked.
  c.eval.num_samples = 64  # Sample grid written each eval; 0 disables.
  # Binarization draws of the test split the final test NLL is the mean of
  # (data.binarization="dynamic" only: the other binarizations have one draw).
  c.eval.test_draws = 1
  # Params the final test scores: "best" by validation NLL (the best
  # checkpoint), or "final" (the last step's; for protocols whose eval split
  # is not held out, e.g. the test split itself).
  c.eval.test_params = "best"
  return c


def _require(cond, key, value, expected):
  if not cond:
    raise ValueError(f"config.{key}={value!r} is invalid: expected {expected}")


def validate(c):
  """Checks values a type cannot; each error names the key and what was expected."""
  _require(c.data.binarization in BINARIZATIONS, "data.binarization",
           c.data.binarization, f"one of {BINARIZATIONS}")
  _require(c.data.seq_len >= 0, "data.seq_len", c.data.seq_len,
           ">= 0 (0 for datasets of examples)")
  _require(c.data.process_sharding in PROCESS_SHARDINGS, "data.process_sharding",
           c.data.process_sharding, f"one of {PROCESS_SHARDINGS}")
  _require(c.optim.name in OPTIMIZERS, "optim.name", c.optim.name, f"one of {OPTIMIZERS}")
  _require(c.optim.schedule in SCHEDULES, "optim.schedule", c.optim.schedule,
           f"one of {SCHEDULES}")
  _require(c.optim.lr > 0, "optim.lr", c.optim.lr, "> 0")
  _require(c.optim.warmup_steps >= 0, "optim.warmup_steps", c.optim.warmup_steps, ">= 0")
  _require(c.optim.decay_steps == -1 or c.optim.decay_steps > 0, "optim.decay_steps",
           c.optim.decay_steps, "-1 (all remaining updates) or > 0")
  _require(0 < c.optim.decay_rate <= 1, "optim.decay_rate", c.optim.decay_rate, "in (0, 1]")
  _require(c.optim.l2 >= 0, "optim.l2", c.optim.l2, ">= 0")
  _require(c.optim.grad_clip_norm >= 0, "optim.grad_clip_norm", c.optim.grad_clip_norm, ">= 0")
  _require(c.optim.grad_accum_steps >= 1, "optim.grad_accum_steps",
           c.optim.grad_accum_steps, ">= 1")
  _require(0 <= c.optim.ema_decay < 1, "optim.ema_decay", c.optim.ema_decay,
           "in [0, 1) (0 disables)")
  for key in ("batch_size", "num_steps", "steps_per_dispatch", "log_every_steps",
              "checkpoint_every_steps", "keep_checkpoints"):
    _require(c.train[key] >= 1, f"train.{key}", c.train[key], ">= 1")
  _require(c.train.param_sharding in PARAM_SHARDINGS, "train.param_sharding",
           c.train.param_sharding,
           f"one of {PARAM_SHARDINGS} (e.g. --config.train.param_sharding=fsdp)")
  _require(c.train.fsdp_min_size >= 1, "train.fsdp_min_size", c.train.fsdp_min_size,
           ">= 1 (elements; smaller leaves stay replicated under fsdp)")
  _require(c.train.early_stopping_patience >= 0, "train.early_stopping_patience",
           c.train.early_stopping_patience, ">= 0 (0 disables)")
  _require(c.train.num_steps % c.optim.grad_accum_steps == 0, "train.num_steps",
           c.train.num_steps,
           f"a multiple of optim.grad_accum_steps={c.optim.grad_accum_steps}")
  updates = c.train.num_steps // c.optim.grad_accum_steps
  if c.optim.schedule == "cosine" and c.optim.end_lr_factor == 0 and c.optim.decay_steps > 0:
    # The cosine reaches lr 0 after warmup + decay_steps updates and stays there.
    idle = updates - c.optim.warmup_steps - c.optim.decay_steps
    _require(idle <= 0, "optim.decay_steps", c.optim.decay_steps,
             f">= {updates - c.optim.warmup_steps} or -1 (all remaining updates): a cosine "
             f"to optim.end_lr_factor=0 over {c.optim.decay_steps} updates leaves lr = 0 for "
             f"the last {max(idle, 0)} of the {updates} updates")
  _require(c.eval.every_steps >= 1, "eval.every_steps", c.eval.every_steps, ">= 1")
  _require(c.eval.batch_size >= 1, "eval.batch_size", c.eval.batch_size, ">= 1")
  _require(c.eval.num_samples >= 0, "eval.num_samples", c.eval.num_samples, ">= 0")
  _require(c.eval.test_draws >= 1, "eval.test_draws", c.eval.test_draws, ">= 1")
  _require(c.eval.test_draws == 1 or c.data.binarization == "dynamic", "eval.test_draws",
           c.eval.test_draws, f"1 with data.binarization={c.data.binarization!r} (only "
           "dynamic binarization draws the test split anew)")
  _require(c.eval.test_params in TEST_PARAMS, "eval.test_params", c.eval.test_params,
           f"one of {TEST_PARAMS}")
  return c


def load_module(path):
  """The Python file at `path`, imported by path (it need not be on sys.path)."""
  path = pathlib.Path(path)
  spec = importlib.util.spec_from_file_location(f"_ar_jax_config_{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def import_sibling(this_file, name):
  """The module file `name` in the same directory as `this_file`, imported by path."""
  return load_module(pathlib.Path(this_file).resolve().parent / name)


def load(path, arg=None):
  """`get_config(arg)` of the config file at `path`."""
  return load_module(path).get_config(arg)


def load_sibling(this_file, name, arg=None):
  """`get_config(arg)` of config `name` in the same directory as `this_file`."""
  return load(pathlib.Path(this_file).resolve().parent / name, arg)

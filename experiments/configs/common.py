"""Experiment protocols shared by the config files in this directory.

Each function applies one protocol (data, splits, budget, evaluation) to a
config from `ar_jax.configs.default_config()` and returns it. Config files
import this module by path, as config files are loaded:

  common = configs.import_sibling(__file__, "common.py")
"""

import ml_collections

from ar_jax import configs

# `--config=FILE[:VARIANT]`: "" is the full run, "cpu" a short run on a CPU.
VARIANTS = ("", "cpu")


def parse_arg(arg):
  """The variant named by `get_config(arg)`: "" (None: the full run) or "cpu"."""
  arg = (arg or "").strip()
  if arg not in VARIANTS:
    raise ValueError(f"unknown config variant {arg!r}; expected one of "
                     f"{', '.join(repr(v) for v in VARIANTS)} "
                     "(e.g. --config=experiments/configs/made_mnist.py:cpu)")
  return arg


def binarized_mnist_protocol(c, patience=30):
  """The NADE/MADE-paper protocol on fixed binarized MNIST, applied to `c`.

  Fixed binarization, 50k/10k/10k, batch 100 (500 steps per epoch), one
  validation eval and checkpoint per epoch, early stopping after `patience`
  epochs without a better validation NLL, at most 500 epochs.
  """
  c.data.name = "binarized_mnist"
  c.data.binarization = "fixed"
  c.train.batch_size = 100
  c.train.num_steps = 500 * 500
  c.train.log_every_steps = 100
  c.train.checkpoint_every_steps = 500
  c.train.early_stopping_patience = patience
  c.eval.every_steps = 500
  c.eval.batch_size = 1000
  c.eval.num_samples = 64
  return c


def dynamic_mnist_protocol(c, variant=""):
  """pytorch-generative's protocol on dynamically binarized MNIST, applied to `c`.

  As their `datasets.py`: 8-bit MNIST binarized by a fresh Bernoulli(k/256)
  draw each time an image is read (a new key every step), all 60k training
  images (`train+validation`: no held-out validation split), and the test set
  as the eval split, which their trainer scores every epoch. The eval during
  training only draws the curves: no early stopping, and the final test
  scores the last step's params (`eval.test_params="final"`), as the mean
  over `eval.test_draws` fresh draws of the test set (10; 3 for `:cpu`).
  """
  c.data.name = "mnist_8bit"
  c.data.binarization = "dynamic"
  c.data.train_split = "train+validation"
  c.data.eval_split = "test"
  c.data.test_split = "test"
  c.train.early_stopping_patience = 0
  c.eval.test_params = "final"
  c.eval.test_draws = 3 if variant == "cpu" else 10
  return c


def cpu_budget(c, *, num_steps=6000, lr=3e-3):
  """The `:cpu` variant of the binarized-MNIST configs: a short annealed run.

  A higher peak lr with warmup + cosine decay to 0 over the remaining steps
  gets most of the way in `num_steps`; evals every third of the run, no early stopping, 16 samples.
  """
  c.optim.lr = lr
  c.optim.schedule = "cosine"
  c.optim.warmup_steps = 100
  c.optim.decay_steps = -1  # over all remaining updates, whatever the full config set
  c.train.num_steps = num_steps
  c.train.checkpoint_every_steps = num_steps // 3
  c.train.early_stopping_patience = 0
  c.eval.every_steps = num_steps // 3
  c.eval.num_samples = 16
  return c


def image_mnist_schedule(c, variant):
  """Training schedule of the PixelCNN-family configs on binarized MNIST.

  Full run: Adam 1e-3, batch 64, up to 200k steps with a validation eval and
  checkpoint every 2,000 (early stopping from `binarized_mnist_protocol`).
  `:cpu`: `cpu_budget`'s annealed schedule, batch 32.
  """
  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.train.batch_size = 64
  c.train.num_steps = 200_000
  c.train.log_every_steps = 200
  c.train.checkpoint_every_steps = 2000
  c.eval.every_steps = 2000
  c.eval.batch_size = 500
  if variant == "cpu":
    cpu_budget(c, num_steps=600, lr=3e-3)
    c.train.batch_size = 32
    c.train.log_every_steps = 100
  return c


def shakespeare_char_protocol(c):
  """shakespeare_char data and evaluation settings shared by the text configs.

  Token ids as they are (76 classes) in windows of 256 characters, batch 64,
  a validation eval and checkpoint every 1000 steps, and no sample grid (a PNG
  of text says nothing: sample with `ar-jax sample --prompt`).
  """
  c.data.name = "shakespeare_char"
  c.data.binarization = "none"
  c.data.seq_len = 256
  c.train.batch_size = 64
  c.train.log_every_steps = 100
  c.train.checkpoint_every_steps = 1000
  c.eval.every_steps = 1000
  c.eval.num_samples = 0
  return c


def cifar10_protocol(c, *, batch_size=32, num_steps=300_000, log_every_steps=200,
                     eval_every_steps=5000, eval_batch_size=200):
  """CIFAR-10 data and evaluation settings shared by the CIFAR-10 image configs.

  8-bit values as 256 classes; the last 5k training images held out for
  validation; Adam 1e-3; a validation eval and checkpoint every
  `eval_every_steps`; 16 samples per eval. The defaults are the PixelCNN /
  Gated PixelCNN schedule; PixelCNN++ passes its own.
  """
  c.data.name = "cifar10"
  c.data.binarization = "none"  # 8-bit values as 256 classes.
  c.data.train_split = "train[:45000]"
  c.data.eval_split = "train[45000:]"
  c.data.test_split = "test"
  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.train.batch_size = batch_size
  c.train.num_steps = num_steps
  c.train.log_every_steps = log_every_steps
  c.train.checkpoint_every_steps = eval_every_steps
  c.eval.every_steps = eval_every_steps
  c.eval.batch_size = eval_batch_size
  c.eval.num_samples = 16
  return c


def cifar10_pixelcnn_config(arg, model, hparams, cpu_hparams):
  """A PixelCNN-family CIFAR-10 config: `cifar10_protocol`, model `model`.

  `hparams`: the full model; `:cpu` updates them with `cpu_hparams` and
  trains 3,000 steps of batch 16 on `cpu_budget`'s annealed schedule.
  """
  variant = parse_arg(arg)
  c = cifar10_protocol(configs.default_config())
  c.model.name = model
  c.model.hparams = ml_collections.ConfigDict(dict(input_shape=(32, 32, 3), **hparams))
  if variant == "cpu":
    c.model.hparams.update(cpu_hparams)
    cpu_budget(c, num_steps=3000, lr=2e-3)
    c.train.batch_size = 16
  return c

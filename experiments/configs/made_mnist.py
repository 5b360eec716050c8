r"""MADE 784-500-784 on binarized MNIST, 1 hidden layer, 1 mask.

Paper row: Germain et al. (2015), "MADE: Masked Autoencoder for Distribution
Estimation", Table 6 (binarized MNIST test NLL), row "MADE, 1 hidden layer,
1 mask" (paper value: experiments/PAPER_NUMBERS.md). As in the authors' MNIST
command the model has ReLU units and direct input->output connections. Not
the same: Adam here (the authors used Adagrad, lr 0.01). As the paper: the
50k/10k/10k fixed binarization and early stopping on validation NLL (30
epochs of look-ahead, one eval per epoch).

  python -m ar_jax.main --config=experiments/configs/made_mnist.py \
      --workdir=runs/made_mnist

`:cpu`: the same model for 12 epochs with an annealed schedule
(`common.cpu_budget`):

  python -m ar_jax.main --config=experiments/configs/made_mnist.py:cpu \
      --workdir=runs/made_mnist_cpu

Prepare the data once with `ar-jax prepare binarized_mnist`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())

  c.model.name = "made"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(784,),  # The 28x28x1 images, flattened row-major.
      hidden_sizes=(500,),
      num_masks=1,
      order_agnostic=False,
      connectivity_agnostic=False,
      direct=True,  # Direct input->output connections (authors' MNIST command).
      seed=0,  # Seed of the hidden-unit degrees (the mask).
  ))

  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.optim.schedule = "constant"  # Early stopping picks the epoch, as in the paper.

  if variant == "cpu":
    common.cpu_budget(c, num_steps=6000)  # 12 epochs.
  return c

r"""FVSBN (fully visible sigmoid belief network) on binarized MNIST.

Paper row: Larochelle & Murray (2011), "The Neural Autoregressive
Distribution Estimator", AISTATS, MNIST results table, row "FVSBN" (paper
value: experiments/PAPER_NUMBERS.md). Same 50k/10k/10k fixed-binarization
split and early stopping on validation NLL; not the same: Adam here.

  python -m ar_jax.main --config=experiments/configs/fvsbn_mnist.py \
      --workdir=runs/fvsbn_mnist

`:cpu`: 12 epochs with an annealed schedule (`common.cpu_budget`):

  python -m ar_jax.main --config=experiments/configs/fvsbn_mnist.py:cpu \
      --workdir=runs/fvsbn_mnist_cpu
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())

  c.model.name = "fvsbn"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(784,),
      ordering="natural",  # Row-major raster order, as in the paper.
  ))

  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.optim.schedule = "constant"


  if variant == "cpu":
    common.cpu_budget(c, num_steps=6000)  # 12 epochs.
  return c

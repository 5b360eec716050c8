r"""MADE 784-8000-8000-784 on binarized MNIST, 32 masks (exact ensemble).

Paper row: Germain et al. (2015), MADE, Table 6 (binarized MNIST), row "MADE,
2 hidden layers, 32 masks" (paper value: experiments/PAPER_NUMBERS.md). An
accelerator run; `:cpu` as `made_2x8000_1mask_mnist.py:cpu`.

  python -m ar_jax.main --config=experiments/configs/made_2x8000_32masks_mnist.py \
      --workdir=runs/made_2x8000_32masks_mnist
"""

from ar_jax import configs


def get_config(arg=None):
  c = configs.load_sibling(__file__, "made_2x8000_1mask_mnist.py", arg)
  c.model.hparams.num_masks = 32
  c.model.hparams.order_agnostic = True
  c.model.hparams.connectivity_agnostic = True
  return c

r"""MADE 784-8000-8000-784 on binarized MNIST, 1 mask.

Paper row: Germain et al. (2015), MADE, Table 6 (binarized MNIST), row "MADE,
2 hidden layers, 1 mask" (paper value: experiments/PAPER_NUMBERS.md); the
8000-unit width is from the authors' MNIST command. About 76M parameters: an
accelerator run.

  python -m ar_jax.main --config=experiments/configs/made_2x8000_1mask_mnist.py \
      --workdir=runs/made_2x8000_1mask_mnist

`:cpu`: 2 x 1000 units on the budget of `made_mnist.py:cpu` (the 2-layer code
path, not the paper's model).
"""

from ar_jax import configs


def get_config(arg=None):
  c = configs.load_sibling(__file__, "made_mnist.py", arg)
  c.model.hparams.hidden_sizes = (8000, 8000)
  if arg == "cpu":
    c.model.hparams.hidden_sizes = (1000, 1000)  # Smoke test of the 2-layer path only.
  return c

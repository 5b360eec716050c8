r"""MADE 784-8000-784 on binarized MNIST, 1 hidden layer, 1 mask.

Not a paper row of its own: it tests whether the row "MADE, 1 hidden layer,
1 mask" of Germain et al. (2015), Table 6 (paper value:
experiments/PAPER_NUMBERS.md) used the 8000-unit width of the authors' MNIST
command rather than 500 units. Everything else is `made_mnist.py`, except 10
epochs of early-stopping look-ahead instead of 30 and 16 samples per eval.

  python -m ar_jax.main --config=experiments/configs/made_8000_1mask_mnist.py \
      --workdir=runs/made_8000_1mask_mnist
  python experiments/reproduce.py --table binarized_mnist --rows made_8000_1mask

`:cpu`: the budget of `made_mnist.py:cpu` at this width.
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  c = configs.load_sibling(__file__, "made_mnist.py", arg)
  c.model.hparams.hidden_sizes = (8000,)
  if common.parse_arg(arg) != "cpu":
    c.train.early_stopping_patience = 10
    c.eval.num_samples = 16
  return c

r"""MADE 784-500-784 on binarized MNIST with a pool of 32 masks (exact ensemble).

Paper row: Germain et al. (2015), MADE, Table 6 (binarized MNIST), row "MADE,
1 hidden layer, 32 masks" (paper value: experiments/PAPER_NUMBERS.md).
Order- and connectivity-agnostic training: each step draws one of 32 fixed
(ordering, hidden-degree) assignments; the test NLL is the exact ensemble
log (1/32) sum_m p_m(x). Everything else is `made_mnist.py`, with at least
30 epochs of early-stopping look-ahead.

  python -m ar_jax.main --config=experiments/configs/made_32masks_mnist.py \
      --workdir=runs/made_32masks_mnist
  python experiments/reproduce.py --table binarized_mnist --rows made_32masks

`:cpu`: the budget of `made_mnist.py:cpu`.
"""

from ar_jax import configs


def get_config(arg=None):
  c = configs.load_sibling(__file__, "made_mnist.py", arg)
  c.model.hparams.num_masks = 32
  c.model.hparams.order_agnostic = True
  c.model.hparams.connectivity_agnostic = True
  # Agnostic training sees each mask 1/32 of the time and converges slower.
  c.train.early_stopping_patience = max(c.train.early_stopping_patience, 30)
  return c

r"""MADE 784-8000-8000-784 on binarized MNIST, 1 mask.

Reproduces Germain et al. (2015), MADE, Table 6 (binarized MNIST), row
"MADE, 2 hidden layers, 1 mask": 89.59 nats (see experiments/PAPER_NUMBERS.md;
the 8000-unit width is from the authors' MNIST command). About 76M
parameters: a GPU/TPU run, not a CPU one (not run here).

  python -m ar_jax.main --config=experiments/configs/made_2x8000_1mask_mnist.py \
      --workdir=runs/made_2x8000_1mask_mnist
"""

from ar_jax import configs


def get_config(arg=None):
  c = configs.load_sibling(__file__, "made_mnist.py", arg)
  c.model.hparams.hidden_sizes = (8000, 8000)
  if arg == "cpu":
    c.model.hparams.hidden_sizes = (1000, 1000)  # Smoke test of the 2-layer path only.
  return c

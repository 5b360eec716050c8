r"""MADE 784-8000-784 on binarized MNIST, 1 hidden layer, 1 mask.

Tests whether the paper's 1-hidden-layer, 1-mask row (Germain et al. 2015,
Table 6: 88.40 nats, UNCONFIRMED against the PDF, see
experiments/PAPER_NUMBERS.md section 1) used the 8000-unit width of the
authors' MNIST command rather than 500 units. Everything else is
`made_mnist.py` (ReLU, direct input->output connections, Adam 1e-3), except:
- 10 epochs of early-stopping look-ahead instead of the paper's 30, to fit a
  CPU budget (measured: validation NLL rose at every eval for the 10 epochs
  after the best, 92.38 at epoch 7 -> 97.59 at epoch 17);
- 16 samples per eval (sampling 784 dims of an 8000-unit MADE is slow on CPU).

Measured (2 CPU cores, shared): test NLL 91.68 nats, best at epoch 7,
~10 steps/s. The wider layer gains 0.6-0.8 nat over 500 units (92.2-92.5)
and overfits within 7 epochs: width alone does not explain the 4-nat gap.

  python -m ar_jax.main --config=experiments/configs/made_8000_1mask_mnist.py \
      --workdir=runs/made_8000_1mask_mnist
  python experiments/reproduce.py binarized_mnist --rows=made_8000_1mask

CPU variant: the 12-epoch smoke budget of made_mnist.py:cpu at this width.
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

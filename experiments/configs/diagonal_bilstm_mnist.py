r"""Diagonal BiLSTM on binarized MNIST (28x28x1, Bernoulli outputs).

Paper row: van den Oord, Kalchbrenner & Kavukcuoglu (2016), "Pixel Recurrent
Neural Networks", the binarized-MNIST table, row "Diagonal BiLSTM (7 layers,
h = 16)" (citation id pixelrnn2016-diagbilstm-mnist, 79.20 nats; the value
and that this row is the 7-layer h = 16 model, not the table's 1-layer one,
are unconfirmed against the paper: experiments/PAPER_NUMBERS.md). The model
follows the paper's Diagonal BiLSTM (7x7 type-A first layer, residual
Diagonal BiLSTM layers, ReLU + 1x1 output layers) with the right-to-left
direction shifted down a row and reading its own pixel (`pixel_in`, see
ar_jax/models/diagonal_bilstm.py); the head width is this config's choice,
and the data is our fixed binarization of MNIST (experiments/PAPER_NUMBERS.md,
section 0), not Larochelle's file.

  python -m ar_jax.main --config=experiments/configs/diagonal_bilstm_mnist.py \
      --workdir=runs/diagonal_bilstm_mnist

`:cpu`: 2 layers, h = 8, 600 steps of batch 32 with cosine decay
(`common.image_mnist_schedule`), about an hour on a 2-core CPU:

  python -m ar_jax.main --config=experiments/configs/diagonal_bilstm_mnist.py:cpu \
      --workdir=runs/diagonal_bilstm_mnist_cpu

Prepare the data once with `ar-jax prepare binarized_mnist`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())
  c.model.name = "diagonal_bilstm"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(28, 28, 1),
      num_layers=7,
      hidden_channels=16,  # h per direction: the stream has 2h = 32 channels.
      head_channels=32,
      first_kernel=7,
  ))
  common.image_mnist_schedule(c, variant)
  if variant == "cpu":  # A smaller Diagonal BiLSTM.
    c.model.hparams.update(dict(num_layers=2, hidden_channels=8, head_channels=16))
  return c

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

`:cpu`, sized for about an hour on a 2-core CPU: 4 layers, h = 12, 4,500
steps of batch 32 on `common.cpu_budget`'s annealed schedule (warmup, cosine
decay), evals every 1,500 steps:

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
  if variant == "cpu":  # A smaller Diagonal BiLSTM, for more steps than the PixelCNN's 600.
    c.model.hparams.update(dict(num_layers=4, hidden_channels=12, head_channels=24))
    common.cpu_budget(c, num_steps=4500, lr=3e-3)
  return c

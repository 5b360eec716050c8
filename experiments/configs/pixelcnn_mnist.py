r"""PixelCNN on binarized MNIST (28x28x1, Bernoulli outputs).

Paper row: van den Oord, Kalchbrenner & Kavukcuoglu (2016), "Pixel Recurrent
Neural Networks", the binarized-MNIST table (Table 4 of arXiv:1601.06759v3,
as I remember it), row "PixelCNN": 81.30 nats. UNCONFIRMED: neither the
value nor the table number could be read from the paper here (no PDF
access); check before citing. The model follows the paper's PixelCNN (7x7
type-A first layer, residual blocks of 1x1 / 3x3 type-B / 1x1, two 1x1 output
layers); the block count and widths for MNIST are our choice, and the data
is our fixed binarization of MNIST (see experiments/PAPER_NUMBERS.md,
section 0), not Larochelle's file, so the numbers compare within noise only.

  python -m ar_jax.main --config=experiments/configs/pixelcnn_mnist.py \
      --workdir=runs/pixelcnn_mnist

CPU variant (3 blocks, h = 16, 600 steps of batch 32, about 0.4 epoch,
cosine decay; about 5 minutes on 2 CPU cores, evaluation included; the
README row gives the measured wall time and NLL, and a 3,000-step run with
`--config.train.num_steps=3000 --config.train.checkpoint_every_steps=1000
--config.eval.every_steps=1000`):

  python -m ar_jax.main --config=experiments/configs/pixelcnn_mnist.py:cpu \
      --workdir=runs/pixelcnn_mnist_cpu

Prepare the data once with `ar-jax prepare binarized_mnist`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())
  c.model.name = "pixelcnn"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(28, 28, 1),
      num_blocks=15,
      residual_channels=32,  # h: the stream has 2h = 64 channels.
      head_channels=64,
      first_kernel=7,
      kernel_size=3,
  ))
  common.image_mnist_schedule(c, variant)
  if variant == "cpu":  # A smaller PixelCNN.
    c.model.hparams.update(dict(num_blocks=3, residual_channels=16, head_channels=32))
  return c

r"""PixelCNN on binarized MNIST (28x28x1, Bernoulli outputs).

Paper row: van den Oord, Kalchbrenner & Kavukcuoglu (2016), "Pixel Recurrent
Neural Networks", the binarized-MNIST table, row "PixelCNN" (paper value:
experiments/PAPER_NUMBERS.md). The model follows the paper's PixelCNN (7x7
type-A first layer, residual blocks of 1x1 / 3x3 type-B / 1x1, two 1x1
output layers); the block count and widths for MNIST are this config's
choice, and the data is our fixed binarization of MNIST
(experiments/PAPER_NUMBERS.md, section 0), not Larochelle's file.

  python -m ar_jax.main --config=experiments/configs/pixelcnn_mnist.py \
      --workdir=runs/pixelcnn_mnist

`:cpu`: 3 blocks, h = 16, 600 steps of batch 32 with cosine decay
(`common.image_mnist_schedule`); a longer run adds
`--config.train.num_steps=3000 --config.train.checkpoint_every_steps=1000
--config.eval.every_steps=1000`:

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

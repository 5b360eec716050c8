r"""PixelSNAIL on binarized MNIST (28x28x1, Bernoulli outputs).

No paper row on fixed binarized MNIST: Chen et al. (2017), "PixelSNAIL",
report CIFAR-10 and ImageNet 32x32 only (`chen2017-pixelsnail-cifar10`).
pytorch-generative's README reports its PixelSNAIL at 78.61 nats on
*dynamically* binarized MNIST (`pg-pixelsnail-dynamic`), a different
protocol (pixels resampled every epoch) whose run is a separate config, not
this one. The model: gated ResNet layers of down-right-shifted convolutions
and causal attention as the paper, a Bernoulli per pixel (`output =
"categorical"` with two classes); the sizes (64 filters, 8 blocks of 2
layers, key 8, value 32: pytorch-generative's defaults) are not paper values.

  python -m ar_jax.main --config=experiments/configs/pixelsnail_mnist.py \
      --workdir=runs/pixelsnail_mnist

`:cpu`: 2 blocks of 2 layers, 32 filters, key 4, value 16 (the peer
harness's `pixelsnail/` configuration), `common.image_mnist_schedule`'s 600
annealed steps of batch 32.

Prepare the data once with `ar-jax prepare binarized_mnist`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())
  c.model.name = "pixelsnail"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(28, 28, 1), num_filters=64, num_blocks=8, num_resnet=2, num_heads=1,
      key_size=8, value_size=32, output="categorical", dropout=0.0, weight_norm=True))
  common.image_mnist_schedule(c, variant)
  if variant == "cpu":
    c.model.hparams.update(dict(num_filters=32, num_blocks=2, num_resnet=2, key_size=4,
                                value_size=16))
  return c

r"""Class-conditional Gated PixelCNN on binarized MNIST: p(x | digit).

No paper row: van den Oord et al. (2016), "Conditional Image Generation with
PixelCNN Decoders", condition on ImageNet classes; this config shows the same
conditioning end to end. The label's one-hot enters every gate of both stacks
(their Eq. 4): `data.cond_feature="label"` makes every batch carry the digit
and the model's `cond_classes` defaults to its 10 classes. The sample grid
(`samples.png`, `ar-jax sample`) has one row per digit, 0 at the top.

  python -m ar_jax.main --config=experiments/configs/gated_pixelcnn_mnist_class_cond.py \
      --workdir=runs/gated_pixelcnn_mnist_class_cond

`:cpu`: a small model, 600 steps of batch 32 with cosine decay:

  python -m ar_jax.main \
      --config=experiments/configs/gated_pixelcnn_mnist_class_cond.py:cpu \
      --workdir=runs/gated_pixelcnn_mnist_class_cond_cpu

Prepare the data once with `ar-jax prepare binarized_mnist`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())
  c.data.cond_feature = "label"  # The digit 0..9: cond_classes defaults to 10.
  c.model.name = "gated_pixelcnn"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(28, 28, 1),
      num_layers=10,
      channels=64,
      head_channels=64,
      first_kernel=7,
      kernel_size=3,
  ))
  common.image_mnist_schedule(c, variant)
  c.eval.num_samples = 100  # 10 rows (one per digit) x 10 samples.
  if variant == "cpu":  # A smaller Gated PixelCNN.
    c.model.hparams.update(dict(num_layers=4, channels=16, head_channels=32))
  return c

r"""Gated PixelCNN on CIFAR-10 (32x32x3, 256-way softmax per sub-pixel).

Paper row: van den Oord et al. (2016), "Conditional Image Generation with
PixelCNN Decoders", the CIFAR-10 table, row "Gated PixelCNN" (paper value:
experiments/PAPER_NUMBERS.md). The model: a 7x7 input layer and 15 gated
layers of vertical + horizontal stacks; the widths are this library's
defaults (96 units per stack, a 384-unit head), not a paper value. Data,
splits and `:cpu` budget as `pixelcnn_cifar10.py`.

  python -m ar_jax.main --config=experiments/configs/gated_pixelcnn_cifar10.py \
      --workdir=runs/gated_pixelcnn_cifar10
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  return common.cifar10_pixelcnn_config(
      arg, "gated_pixelcnn",
      dict(num_layers=15, channels=96, head_channels=384, first_kernel=7, kernel_size=3),
      cpu_hparams=dict(num_layers=5, channels=24, head_channels=48))

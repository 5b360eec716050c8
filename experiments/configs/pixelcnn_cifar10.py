r"""PixelCNN on CIFAR-10 (32x32x3, 256-way softmax per sub-pixel, R -> G -> B).

Paper row: van den Oord, Kalchbrenner & Kavukcuoglu (2016), "Pixel Recurrent
Neural Networks", the CIFAR-10 table, row "PixelCNN" (paper value:
experiments/PAPER_NUMBERS.md). The paper's PixelCNN: a 7x7 type-A layer, 15
residual blocks, two 1x1 output layers, channel-grouped masks; the widths are
this library's defaults (multiples of 3; h = 96, a 192-channel stream, a
384-unit head), not a paper value.

Data: the standard TFDS name `cifar10`, prepared in the data dir
(`tfds build cifar10 --data_dir=DIR --file_format=array_record`); 45k train /
5k validation (the last 5k of train) / the 10k test images, 8-bit values as
256 classes (`common.cifar10_protocol`).

  python -m ar_jax.main --config=experiments/configs/pixelcnn_cifar10.py \
      --workdir=runs/pixelcnn_cifar10

`:cpu`: a small model (5 blocks, h = 24) for 3,000 steps of batch 16.
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  return common.cifar10_pixelcnn_config(
      arg, "pixelcnn",
      dict(num_blocks=15, residual_channels=96, head_channels=384, first_kernel=7, kernel_size=3),
      cpu_hparams=dict(num_blocks=5, residual_channels=24, head_channels=48))

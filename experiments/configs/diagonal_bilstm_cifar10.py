r"""Diagonal BiLSTM on CIFAR-10 (32x32x3, 256-way softmax per sub-pixel, R -> G -> B).

Paper row: van den Oord, Kalchbrenner & Kavukcuoglu (2016), "Pixel Recurrent
Neural Networks", the CIFAR-10 table, row "Diagonal BiLSTM" (citation id
pixelrnn2016-diagbilstm-cifar10, 3.00 bits/dim; unconfirmed:
experiments/PAPER_NUMBERS.md). The model: a 7x7 type-A layer and 12
residual Diagonal BiLSTM layers (the layer count and h = 128 of the paper's
CIFAR-10 models are recalled, unconfirmed); h is 129 here, the nearest
multiple of 3 (one group of units per channel), and the 384-unit head is
this config's choice. Data, splits and the `:cpu` schedule as
`pixelcnn_cifar10.py` (`common.cifar10_pixelcnn_config`).

  python -m ar_jax.main --config=experiments/configs/diagonal_bilstm_cifar10.py \
      --workdir=runs/diagonal_bilstm_cifar10

`:cpu`: a small model (2 layers, h = 12) for 3,000 steps of batch 16.
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  return common.cifar10_pixelcnn_config(
      arg, "diagonal_bilstm",
      dict(num_layers=12, hidden_channels=129, head_channels=384, first_kernel=7),
      cpu_hparams=dict(num_layers=2, hidden_channels=12, head_channels=24))

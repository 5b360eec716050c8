r"""Row LSTM on CIFAR-10 (32x32x3, 256-way softmax per sub-pixel, R -> G -> B).

Paper row: van den Oord, Kalchbrenner & Kavukcuoglu (2016), "Pixel Recurrent
Neural Networks", the CIFAR-10 table, row "Row LSTM" (citation id
`pixelrnn2016-rowlstm-cifar10`, paper value in experiments/PAPER_NUMBERS.md).
The paper's Row LSTM: a 7x7 type-A layer, 12 Row LSTM layers (k = 3) with
residual connections, two 1x1 output layers of 1024 units, channel-grouped
masks. Widths are multiples of 3 here (one group per channel): h = 129 and
a 1026-unit head, the paper's 128 and 1024 rounded up.

Data, splits and `:cpu` budget (3,000 steps of batch 16) as
`pixelcnn_cifar10.py`; `:cpu` is a 2-layer model of h = 24.

  python -m ar_jax.main --config=experiments/configs/row_lstm_cifar10.py \
      --workdir=runs/row_lstm_cifar10
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  return common.cifar10_pixelcnn_config(
      arg, "row_lstm",
      dict(num_layers=12, hidden_channels=129, head_channels=1026, first_kernel=7,
           kernel_size=3),
      cpu_hparams=dict(num_layers=2, hidden_channels=24, head_channels=48))

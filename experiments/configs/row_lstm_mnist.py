r"""Row LSTM on binarized MNIST (28x28x1, Bernoulli outputs).

Paper row: van den Oord, Kalchbrenner & Kavukcuoglu (2016), "Pixel Recurrent
Neural Networks", the binarized-MNIST table, row "Row LSTM" (citation id
`pixelrnn2016-rowlstm-mnist`, paper value in experiments/PAPER_NUMBERS.md).
The model follows the paper's Row LSTM (7x7 type-A first layer, Row LSTM
layers with k = 3 input-to-state and state-to-state convolutions and
residual connections, two 1x1 output layers). The table gives no size for
this row: 7 layers of h = 16 (the size of its Diagonal BiLSTM row) and a
32-unit head are this config's choice. The data is our fixed binarization
of MNIST (experiments/PAPER_NUMBERS.md, section 0), not Larochelle's file.

  python -m ar_jax.main --config=experiments/configs/row_lstm_mnist.py \
      --workdir=runs/row_lstm_mnist

`:cpu`: 4 layers, h = 16, 5,000 steps of batch 32 with warmup and cosine
decay (`common.cpu_budget`), sized for about an hour on a 2-core CPU:

  python -m ar_jax.main --config=experiments/configs/row_lstm_mnist.py:cpu \
      --workdir=runs/row_lstm_mnist_cpu

Prepare the data once with `ar-jax prepare binarized_mnist`. The same model
on 8-bit MNIST or Fashion-MNIST: `mnist_images.py:row_lstm,DATA[,cpu]`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())
  c.model.name = "row_lstm"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(28, 28, 1),
      num_layers=7,
      hidden_channels=16,  # h: the stream has 2h = 32 channels.
      head_channels=32,
      first_kernel=7,
      kernel_size=3,
  ))
  common.image_mnist_schedule(c, variant)
  if variant == "cpu":
    c.model.hparams.update(dict(num_layers=4))
    common.cpu_budget(c, num_steps=5000, lr=3e-3)
  return c

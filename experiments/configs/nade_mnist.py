r"""NADE with 500 hidden units on binarized MNIST (fixed order).

Paper row: "NADE (fixed order)" of Uria, Murray & Larochelle (2014, ICML;
JMLR 2016), the baseline row of the later NADE papers; the original paper
(Larochelle & Murray 2011, AISTATS) reports its own NADE row (paper values:
experiments/PAPER_NUMBERS.md). Not the same: Adam with a cosine decay to the
step budget here (the papers used SGD); early stopping on validation NLL.

  python -m ar_jax.main --config=experiments/configs/nade_mnist.py \
      --workdir=runs/nade_mnist
  python experiments/reproduce.py --table binarized_mnist --rows nade --max_epochs 60

`:cpu`: 2 epochs, no early stopping (`nade_mnist.py:cpu`).
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())

  c.model.name = "nade"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(784,),  # 28x28x1 flattened row-major; natural (raster) order.
      hidden_size=500,
  ))

  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.optim.schedule = "cosine"  # To 0 at train.num_steps (reproduce.py caps it).
  c.optim.warmup_steps = 500

  c.train.num_steps = 500 * 200

  if variant == "cpu":
    c.train.num_steps = 1000
    c.optim.warmup_steps = 100
    c.train.early_stopping_patience = 0
    c.eval.every_steps = 500
    c.eval.num_samples = 16
  return c

r"""LMConv on binarized MNIST (28x28x1, Bernoulli outputs), 8 S-curve orders.

Paper row: Jain, Abbeel & Pathak (2020), "Locally Masked Convolution for
Autoregressive Models", the authors' README: 77.56 nats with 8 S-curve
orders (citation jain2020-lmconv-mnist-8orders, experiments/PAPER_NUMBERS.md).
Their MNIST is binarized again on every load, the test set included (a
dynamic protocol); this config uses our fixed binarization
(`binarized_mnist_protocol`), so the numbers are not directly comparable.

Model as the authors' command line (`--ours -k 3 --normalization pono
-dp 0`, with their defaults of 5 ResNet layers per block and 160 filters):
3 blocks per pass with dilation-2 convolutions between them, 3x3 kernels,
positional normalization, no dropout, weight normalization; the 8 orders are
the flips and transposes of the S-curve (`order_symmetries=8`), one drawn
per batch, and the likelihood is the exact mixture over the 8. Outputs here
are Bernoulli per pixel. Optimizer as theirs: Adam 2e-4, lr * 0.999995 per
update, batch 32.

  python -m ar_jax.main --config=experiments/configs/lmconv_mnist.py \
      --workdir=runs/lmconv_mnist

CPU budget, the same model and steps with 1 order and with 8 (the
ensemble's gain in nats at equal training): 24 filters, 1 ResNet layer per
block, 2 blocks per pass, 4,000 steps of batch 32 on the annealed schedule
(`common.cpu_budget`), one validation eval (its first 1,000 images) at the
end, then the full test set; the 8-order evaluation costs 8 forward passes:

  python -m ar_jax.main --config=experiments/configs/lmconv_mnist.py:1order,cpu \
      --workdir=runs/lmconv_mnist_1order_cpu
  python -m ar_jax.main --config=experiments/configs/lmconv_mnist.py:cpu \
      --workdir=runs/lmconv_mnist_cpu

The argument is `[1order][,cpu]`: `1order` trains and scores the S-curve
alone (no paper row), `cpu` the CPU budget.

Prepare the data once with `ar-jax prepare binarized_mnist`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")

VARIANTS = ("", "cpu", "1order", "1order,cpu")


def get_config(arg=None):
  variant = ",".join(p.strip() for p in (arg or "").split(",") if p.strip())
  if variant not in VARIANTS:
    raise ValueError(f"unknown config variant {variant!r}; expected one of "
                     f"{', '.join(repr(v) for v in VARIANTS)} "
                     "(e.g. --config=experiments/configs/lmconv_mnist.py:1order,cpu)")
  one_order = variant.startswith("1order")
  c = common.binarized_mnist_protocol(configs.default_config())
  c.model.name = "lmconv"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(28, 28, 1), num_classes=2, output="categorical", num_filters=160,
      num_resnet=5, num_levels=3, kernel_size=3, dilation=2, normalization="pono",
      dropout=0.0, weight_norm=True, ordering="s_curve",
      order_symmetries=1 if one_order else 8))
  c.optim.name = "adam"
  c.optim.lr = 2e-4
  c.optim.schedule = "exponential"
  c.optim.decay_rate = 0.999995
  c.optim.decay_steps = 1
  c.train.batch_size = 32
  c.train.num_steps = 500_000
  c.train.log_every_steps = 200
  c.train.checkpoint_every_steps = c.eval.every_steps = 5000
  c.eval.batch_size = 500
  if variant.endswith("cpu"):
    c.model.hparams.update(num_filters=24, num_resnet=1, num_levels=2)
    common.cpu_budget(c, num_steps=4000, lr=2e-3)
    c.train.batch_size = 32
    c.train.log_every_steps = 100
    c.train.checkpoint_every_steps = c.eval.every_steps = 4000
    c.data.eval_split = "validation[:1000]"
  return c

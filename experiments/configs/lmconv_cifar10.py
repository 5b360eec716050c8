r"""LMConv on CIFAR-10 (bits/dim), 8 S-curve orders, for an accelerator.

Paper rows: Jain, Abbeel & Pathak (2020), "Locally Masked Convolution for
Autoregressive Models", the authors' README: 2.887 bits/dim with 8 S-curve
orders and 2.909 with one (citations jain2020-lmconv-cifar10-8orders and
jain2020-lmconv-cifar10-1order, experiments/PAPER_NUMBERS.md).

Model as the authors' training command (`--ours -k 3 --normalization pono
--order s_curve --randomize_order -dp 0`, with their defaults of 5 ResNet
layers per block, 160 filters and 10 mixture components): PixelCNN++ with
locally masked convolutions, 3 blocks per pass with dilation-2 convolutions
in place of down- and up-sampling, 3x3 kernels, positional normalization,
no dropout, weight normalization, the discretized logistic mixture with the
RGB coupling. The 8 orders are the flips and transposes of the S-curve
(`order_symmetries=8`), one drawn per batch; the evaluation is the exact
mixture over the 8 orders. Optimizer as theirs: Adam 2e-4, lr * 0.999995
per update, batch 32. Not the same: no data-dependent init of weight norm,
no checkpoint averaging.

  python -m ar_jax.main --config=experiments/configs/lmconv_cifar10.py \
      --workdir=runs/lmconv_cifar10

`:1order`: trained and evaluated under the S-curve alone. The authors' 2.909
evaluates the 8-order model under one order; evaluate that with
`model.apply(variables, x, method="log_prob", order_index=0)`.

`:cpu` (8 orders) and `:1order,cpu`: a small model (24 filters, 1 ResNet
layer per block, 2 blocks per pass, 5 mixture components), 3,000 steps of
batch 16; not comparable with the paper's rows.

Data as `pixelcnn_cifar10.py` (TFDS `cifar10` prepared in the data dir).
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")

VARIANTS = ("", "1order", "cpu", "1order,cpu")


def get_config(arg=None):
  variant = ",".join(p.strip() for p in (arg or "").split(",") if p.strip())
  if variant not in VARIANTS:
    raise ValueError(f"unknown config variant {variant!r}; expected one of "
                     f"{', '.join(repr(v) for v in VARIANTS)} "
                     "(e.g. --config=experiments/configs/lmconv_cifar10.py:1order)")
  c = common.cifar10_protocol(
      configs.default_config(), batch_size=32, num_steps=1_000_000, log_every_steps=500,
      eval_every_steps=10_000, eval_batch_size=100)
  c.model.name = "lmconv"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(32, 32, 3), num_classes=256, output="logistic", num_filters=160,
      num_resnet=5, num_levels=3, kernel_size=3, dilation=2, num_mixtures=10,
      normalization="pono", dropout=0.0, weight_norm=True, ordering="s_curve",
      order_symmetries=8))
  c.optim.lr = 2e-4
  c.optim.schedule = "exponential"
  c.optim.decay_rate = 0.999995
  c.optim.decay_steps = 1
  if variant.startswith("1order"):
    c.model.hparams.order_symmetries = 1
  if variant.endswith("cpu"):
    c.model.hparams.update(num_filters=24, num_resnet=1, num_levels=2, num_mixtures=5)
    common.cpu_budget(c, num_steps=3000, lr=2e-3)
    c.train.batch_size = 16
  return c

r"""PixelSNAIL on CIFAR-10 (bits/dim), the paper's model.

Paper row: Chen, Mishra, Rohaninejad & Abbeel (2017), "PixelSNAIL: An
Improved Autoregressive Generative Model", the CIFAR-10 table (test NLL in
bits per sub-pixel), row "PixelSNAIL", citation id `chen2017-pixelsnail-cifar10`
(value and confirmation status: experiments/PAPER_NUMBERS.md). Model: 12
blocks of 4 gated ResNet layers (2x2 down-right-shifted convolutions, concat-ELU)
each followed by causal attention, 256 filters, key size 16, value size 128,
one head, dropout 0.5, a 10-component discretized logistic mixture with RGB
coupling (as PixelCNN++), weight normalization. Optimizer: Adam 1e-3 with
PixelCNN++'s per-update decay 0.999995 and Polyak averaging 0.9995.
Not the same: no data-dependent init of weight norm; one batch of 16 here.

Data: the standard TFDS name `cifar10` (`common.cifar10_protocol`).

  python -m ar_jax.main --config=experiments/configs/pixelsnail_cifar10.py \
      --workdir=runs/pixelsnail_cifar10

`:cpu`: a small model (2 blocks of 1 layer, 32 filters, key 8, value 16,
5 mixture components, no dropout), 3,000 steps of batch 16; not comparable
with the paper's row.
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  c = common.cifar10_pixelcnn_config(
      arg, "pixelsnail",
      dict(num_classes=256, num_filters=256, num_blocks=12, num_resnet=4, num_heads=1,
           key_size=16, value_size=128, output="logistic", num_mixtures=10, dropout=0.5,
           weight_norm=True),
      cpu_hparams=dict(num_filters=32, num_blocks=2, num_resnet=1, key_size=8,
                       value_size=16, num_mixtures=5, dropout=0.0))
  if common.parse_arg(arg) != "cpu":
    c.train.batch_size = 16
    c.optim.schedule = "exponential"
    c.optim.decay_rate = 0.999995
    c.optim.decay_steps = 1
    c.optim.ema_decay = 0.9995
  return c

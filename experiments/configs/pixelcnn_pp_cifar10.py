r"""PixelCNN++ on CIFAR-10 (bits/dim), the paper's model.

Paper row: Salimans et al. (2017), "PixelCNN++: Improving the PixelCNN with
Discretized Logistic Mixture Likelihood and Other Modifications", Table 1
(CIFAR-10 test NLL in bits per sub-pixel), row "PixelCNN++" (paper value:
experiments/PAPER_NUMBERS.md). Model: 3 resolutions (32, 16, 8) of 5 gated
ResNet layers in each of the 6 blocks (up and down), dropout 0.5, a
10-component discretized logistic mixture with RGB coupling, weight
normalization. Filters: 160, the default of the authors' released code
(openai/pixel-cnn, `--nr_filters 160`, `--nr_logistic_mix 10`), rather than
the 192 feature maps the paper's text mentions. Optimizer as the released
train.py: Adam 1e-3, lr * 0.999995 per update, Polyak averaging 0.9995 (EMA).
Not the same: no data-dependent init of weight norm; one batch of 16 here
where the authors ran 16 per GPU on 8 GPUs.

Data as `pixelcnn_cifar10.py` (TFDS `cifar10` prepared in the data dir).

  python -m ar_jax.main --config=experiments/configs/pixelcnn_pp_cifar10.py \
      --workdir=runs/pixelcnn_pp_cifar10

`:cpu`: a small model (32 filters, 1 ResNet layer per block, 2 resolutions,
5 mixture components, no dropout), 2,000 steps; not comparable with the
paper's row.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.cifar10_protocol(
      configs.default_config(), batch_size=16, num_steps=1_000_000, log_every_steps=500,
      eval_every_steps=10_000, eval_batch_size=100)

  c.model.name = "pixelcnn_pp"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(32, 32, 3), num_filters=160, num_resnet=5, num_levels=3,
      num_mixtures=10, dropout=0.5, weight_norm=True))

  c.optim.schedule = "exponential"
  c.optim.decay_rate = 0.999995
  c.optim.decay_steps = 1
  c.optim.ema_decay = 0.9995

  if variant == "cpu":
    c.model.hparams.update(num_filters=32, num_resnet=1, num_levels=2, num_mixtures=5,
                           dropout=0.0)
    c.optim.schedule = "constant"
    c.optim.ema_decay = 0.0
    c.train.num_steps = 2000
    c.train.checkpoint_every_steps = c.eval.every_steps = 1000
    c.eval.num_samples = 4
  return c

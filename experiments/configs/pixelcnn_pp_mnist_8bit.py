r"""PixelCNN++ on 8-bit MNIST (bits/dim).

No paper row: Salimans et al. (2017) report CIFAR-10 only
(`pixelcnn_pp_cifar10.py`). The full config is the paper's CIFAR-10 model
(160 filters, 3 resolutions of 5 ResNet layers, dropout 0.5, 10 mixture
components over the 256 levels of one channel) on 28x28x1 8-bit MNIST
(50k/10k/10k), Adam 1e-3 with the released code's decay and Polyak
averaging. Odd sizes on the way down (28 -> 14 -> 7) need nothing special.

  ar-jax prepare mnist_8bit   # once
  python -m ar_jax.main --config=experiments/configs/pixelcnn_pp_mnist_8bit.py \
      --workdir=runs/pixelcnn_pp_mnist_8bit

`:cpu`: a small model (16 filters, 1 ResNet layer per block, 2 resolutions,
5 mixture components, no dropout), batch 16, cosine decay over 300 steps;
validation on the first 500 and the test NLL on the first 2,000 test images.
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  # The paper's model, optimizer and schedule, from the CIFAR-10 config.
  c = configs.load_sibling(__file__, "pixelcnn_pp_cifar10.py")
  c.data.name = "mnist_8bit"
  c.data.binarization = "none"  # 256 classes per pixel.
  c.data.train_split, c.data.eval_split, c.data.test_split = "train", "validation", "test"
  c.model.hparams.input_shape = (28, 28, 1)
  c.train.num_steps = 300_000
  c.eval.batch_size = 500

  if variant == "cpu":
    c.model.hparams.update(num_filters=16, num_resnet=1, num_levels=2, num_mixtures=5,
                           dropout=0.0)
    c.data.eval_split = "validation[:500]"
    c.data.test_split = "test[:2000]"
    c.optim.lr = 3e-3
    c.optim.schedule = "cosine"
    c.optim.decay_steps = -1
    c.optim.warmup_steps = 20
    c.optim.ema_decay = 0.0
    c.train.num_steps = 300
    c.train.log_every_steps = 25
    c.train.checkpoint_every_steps = c.eval.every_steps = 300
    c.eval.batch_size = 250
  return c

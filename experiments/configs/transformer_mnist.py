r"""Decoder-only Transformer on binarized MNIST, ImageGPT-style (raster order).

The 28x28x1 binary image is one sequence of 784 pixels in raster order (as
Chen et al. 2020, "Generative Pretraining from Pixels", do on quantized
colour images); each pixel is predicted from all earlier pixels by causal
self-attention (`ar_jax.models.transformer`). No paper row: an extra row of
the binarized-MNIST table, under the same protocol as MADE/NADE/PixelCNN
(fixed binarization, 50k/10k/10k, test NLL in nats).

Full run (8 layers, 8 heads, width 256, early stopping on validation NLL;
attention over 784 positions: an accelerator run):

  python -m ar_jax.main --config=experiments/configs/transformer_mnist.py \
      --workdir=runs/transformer_mnist

`:cpu`: 2 layers, 1 head, width 32, batch 8, 300 steps with cosine decay and
one evaluation at the end:

  python -m ar_jax.main --config=experiments/configs/transformer_mnist.py:cpu \
      --workdir=runs/transformer_mnist_cpu

Prepare the data once with `ar-jax prepare binarized_mnist`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config())

  c.model.name = "transformer"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(28, 28, 1),  # Flattened in raster order inside the model.
      num_layers=8,
      num_heads=8,
      width=256,
      positions="learned",
      tie_weights=True,
      dropout=0.0,
      use_bias=False,
  ))

  c.optim.name = "adam"
  c.optim.lr = 3e-4
  c.optim.schedule = "constant"
  c.optim.warmup_steps = 1000
  c.optim.grad_clip_norm = 1.0

  if variant == "cpu":
    # Attention over 784 positions moves B * heads * layers * 784^2 floats
    # several times per step, and evaluating 20k images costs as much as
    # ~2.5k training steps: one head, a small batch, one evaluation at the end.
    c.model.hparams.update(num_layers=2, num_heads=1, width=32)
    c.train.batch_size = 8
    common.cpu_budget(c, num_steps=300, lr=3e-3)
    c.eval.every_steps = c.train.num_steps
    c.eval.batch_size = 100  # [100, 1, 784, 784] attention logits: 246 MB.
    c.train.checkpoint_every_steps = c.train.num_steps
  return c

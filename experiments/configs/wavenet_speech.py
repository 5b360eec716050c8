r"""WaveNet on real 8 kHz speech (asterisk_speech), unconditional, mu-law 256 classes.

Model: van den Oord et al. (2016), "WaveNet: A Generative Model for Raw
Audio", arXiv:1609.03499: dilated causal convolutions with dilations
1, 2, ..., 512 repeated 3 times (30 layers; Sec. 2.1), gated tanh * sigmoid
units, residual and skip connections, two 1x1 output layers and a softmax
over 256 mu-law classes (Sec. 2.2-2.4). The paper gives no channel widths;
this config uses residual 64 / gate 64 / skip 256. No paper row: the paper
reports no likelihood for speech (listening tests and a TIMIT phone error
rate), and this dataset (one speaker from Debian asterisk-core-sounds-en-wav,
split by file, see ar_jax/data/speech.py) is not the paper's. The score is
bits per sample on the held-out files.

Data (once): python -m ar_jax.data.prepare asterisk_speech

Full run (1 s windows, receptive field 3071 samples = 384 ms):

  python -m ar_jax.main --config=experiments/configs/wavenet_speech.py \
      --workdir=runs/wavenet_speech

`:cpu`: 2 stacks of dilations 1..64 (14 layers), residual/gate 32, skip 64,
receptive field 256 samples = 32 ms; 120 ms windows, batch 4, 150 steps:

  python -m ar_jax.main --config=experiments/configs/wavenet_speech.py:cpu \
      --workdir=runs/wavenet_speech_cpu

Sampling to WAV: python experiments/wavenet_sample.py --workdir=... --out_dir=...
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = configs.default_config()
  c.data.name = "asterisk_speech"
  c.data.binarization = "none"  # mu-law classes as stored
  c.data.seq_len = 8000  # 1 s windows

  c.model.name = "wavenet"
  c.model.hparams = ml_collections.ConfigDict(dict(
      num_stacks=3, layers_per_stack=10,  # dilations 1..512, 3 times (Sec. 2.1)
      kernel_size=2, input_kernel_size=2,
      residual_channels=64, gate_channels=64, skip_channels=256,
      output="categorical",
  ))

  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.optim.schedule = "cosine"
  c.optim.warmup_steps = 500
  c.optim.grad_clip_norm = 1.0

  c.train.batch_size = 8
  c.train.num_steps = 100_000
  c.train.log_every_steps = 100
  c.train.checkpoint_every_steps = 2000
  c.eval.every_steps = 5000
  c.eval.batch_size = 16
  c.eval.num_samples = 0  # 1 s of audio per sample: use the demo script instead

  if variant == "cpu":
    c.data.seq_len = 960  # 120 ms windows (a multiple of the 80-sample mel hop)
    c.model.hparams.num_stacks = 2
    c.model.hparams.layers_per_stack = 7  # dilations 1..64
    c.model.hparams.residual_channels = 32
    c.model.hparams.gate_channels = 32
    c.model.hparams.skip_channels = 64
    c.optim.lr = 2e-3
    c.optim.warmup_steps = 25
    c.train.batch_size = 4
    c.train.num_steps = 150
    c.train.log_every_steps = 10
    c.train.checkpoint_every_steps = 50
    # One validation pass at the end, on 4 of the 28 validation clips (it only
    # picks the checkpoint); the test NLL covers the whole test split.
    c.data.eval_split = "validation[:4]"
    c.eval.every_steps = 150
    c.eval.batch_size = 32
  return c

r"""WaveNet on asterisk_speech, locally conditioned on log-mel frames (80 bins / 10 ms).

As `wavenet_speech.py` (same model sizes and budgets), plus local
conditioning (van den Oord et al. 2016, arXiv:1609.03499, Sec. 2.5, Eq. 3):
the stored standardized log-mel frames of the window (one per 80 samples) are
upsampled by repetition and added inside every gate. The output at sample t
sees frames up to floor(t / 80) (the frame of its own 10 ms block), never the
audio at or after t. No paper row (the paper conditions on linguistic
features and reports listening tests, not likelihoods).

  python -m ar_jax.main --config=experiments/configs/wavenet_speech_mel.py:cpu \
      --workdir=runs/wavenet_speech_mel_cpu
"""

from ar_jax import configs


def get_config(arg=None):
  c = configs.load_sibling(__file__, "wavenet_speech.py", arg)
  c.data.cond_feature = "mel"  # local_channels=80, local_hop=80 come from the data
  c.model.hparams.local_upsample = "repeat"
  return c

"""Audio for WaveNet: mu-law classes, 16-bit WAV files, log-mel features (numpy only).

- `mu_law_encode(x)` float in [-1, 1] -> int classes in [0, 256) (G.711-style
  companding, mu = 255, as in the WaveNet paper, Sec. 2.2) and
  `mu_law_decode(c)` back; `encode(decode(c)) == c` exactly.
- `read_wav(path)` -> (int16 [N], sample rate) for mono 16-bit PCM (stdlib
  `wave`); `write_wav(path, samples, rate)` writes int16 or float [-1, 1].
- `log_mel(x, rate)` -> float32 [N // hop, num_mels]: frame j describes the
  block of samples [j*hop, (j+1)*hop), with a Hann window of `win_length`
  samples centred on the block's middle (zero padding at the clip's edges),
  so it looks ahead of the block by (win_length - hop) / 2 samples.
- `spectrogram_dbfs(x, rate)` -> power in dB re full scale per frame and FFT
  bin, the values `ar_jax.plots.plot_spectrogram` draws.
"""

import wave

import numpy as np

MU = 255
PCM_SCALE = 32768.0  # int16 full scale: x = pcm / 32768 lies in [-1, 1).


def mu_law_encode(x, mu=MU):
  """Float samples in [-1, 1] -> int32 classes in [0, mu] (mu + 1 classes)."""
  x = np.clip(np.asarray(x, np.float64), -1.0, 1.0)
  y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
  return np.floor((y + 1.0) / 2.0 * mu + 0.5).astype(np.int32)


def mu_law_decode(c, mu=MU):
  """int classes in [0, mu] -> float64 samples in [-1, 1] (the class centres)."""
  c = np.asarray(c)
  if c.size and (c.min() < 0 or c.max() > mu):
    raise ValueError(f"mu_law_decode: classes must lie in [0, {mu}], got "
                     f"{int(c.min())}..{int(c.max())}")
  y = 2.0 * c.astype(np.float64) / mu - 1.0
  return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu


def pcm_to_float(pcm):
  return np.asarray(pcm, np.float64) / PCM_SCALE


def float_to_pcm(x):
  """Float [-1, 1] -> int16, rounded and clipped to the int16 range."""
  return np.clip(np.round(np.asarray(x, np.float64) * PCM_SCALE), -32768, 32767).astype(np.int16)


def read_wav(path_or_file):
  """(int16 samples [N], sample rate) of a mono 16-bit PCM WAV file."""
  with wave.open(path_or_file, "rb") as w:
    if w.getnchannels() != 1 or w.getsampwidth() != 2:
      raise ValueError(f"read_wav: {path_or_file} has {w.getnchannels()} channel(s) of "
                       f"{8 * w.getsampwidth()} bits; expected mono 16-bit PCM")
    data = w.readframes(w.getnframes())
    return np.frombuffer(data, "<i2").astype(np.int16), w.getframerate()


def write_wav(path, samples, rate):
  """Writes mono 16-bit PCM; `samples` int16, or float in [-1, 1]."""
  samples = np.asarray(samples)
  pcm = samples if samples.dtype == np.int16 else float_to_pcm(samples)
  with wave.open(path, "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(int(rate))
    w.writeframes(pcm.astype("<i2").tobytes())


def hz_to_mel(f):
  """HTK mel scale."""
  return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def mel_to_hz(m):
  return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def mel_filterbank(num_mels, n_fft, rate, fmin=0.0, fmax=None):
  """float64 [n_fft // 2 + 1, num_mels]: triangular filters equally spaced in mel.

  Filter m rises from edge m to its centre m + 1 and falls to edge m + 2 (in
  Hz, on num_mels + 2 points equally spaced in mel); weights are the
  triangles evaluated at the FFT bin frequencies, unnormalized (peak 1).
  """
  fmax = rate / 2.0 if fmax is None else fmax
  edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), num_mels + 2))
  freqs = np.arange(n_fft // 2 + 1) * rate / n_fft
  lo, centre, hi = edges[:-2], edges[1:-1], edges[2:]
  rise = (freqs[:, None] - lo[None]) / (centre - lo)[None]
  fall = (hi[None] - freqs[:, None]) / (hi - centre)[None]
  return np.maximum(0.0, np.minimum(rise, fall))


def power_frames(x, hop, win_length, n_fft):
  """|rfft|^2 [N // hop, n_fft // 2 + 1] of Hann-windowed frames centred on blocks."""
  x = np.asarray(x, np.float64)
  num_frames = len(x) // hop
  # Frame j's window starts at j*hop + hop/2 - win/2: centred on block j.
  offset = hop // 2 - win_length // 2
  pad = win_length
  padded = np.pad(x, (pad, pad))
  starts = pad + offset + hop * np.arange(num_frames)
  idx = starts[:, None] + np.arange(win_length)[None]
  frames = padded[idx] * np.hanning(win_length + 2)[1:-1][None]  # no zero end taps
  return np.abs(np.fft.rfft(frames, n=n_fft, axis=-1)) ** 2


def log_mel(x, rate, *, hop=80, win_length=200, n_fft=512, num_mels=80, floor=1e-6):
  """float32 [N // hop, num_mels]: log(mel power + floor) of float samples x."""
  mel = power_frames(x, hop, win_length, n_fft) @ mel_filterbank(num_mels, n_fft, rate)
  return np.log(mel + floor).astype(np.float32)


def spectrogram_dbfs(x, rate, *, hop_s=0.010, win_s=0.025, floor_db=-120.0):
  """(dB [N // hop, n_fft // 2 + 1], hop in s, bin width in Hz) of float samples x.

  Frames as in `power_frames` (a `win_s` Hann window centred on each `hop_s`
  block), FFT size the next power of two >= the window. Power is relative
  to a full-scale sine: one of amplitude 1 centred on a bin reads 0 dB there.
  Values are clipped below at `floor_db`.
  """
  hop, win = round(hop_s * rate), round(win_s * rate)
  n_fft = 1 << (win - 1).bit_length()
  window_gain = np.hanning(win + 2)[1:-1].sum() / 2  # |rfft| of a unit sine at its bin
  power = power_frames(x, hop, win, n_fft) / window_gain ** 2
  db = 10.0 * np.log10(np.maximum(power, 10.0 ** (floor_db / 10.0)))
  return db, hop / rate, rate / n_fft

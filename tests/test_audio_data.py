"""ar_jax.audio (mu-law, WAV, log-mel) and the asterisk_speech data path, on tiny local stand-ins."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from ar_jax import audio
from ar_jax.data import pipeline
from ar_jax.data import prepare_lib
from ar_jax.data import sources
from ar_jax.data import specs
from ar_jax.data import speech
from ar_jax.data import speech_build
from ar_jax.models import from_config


def test_mu_law_round_trips():
  c = np.arange(256)
  np.testing.assert_array_equal(audio.mu_law_encode(audio.mu_law_decode(c)), c)
  x = np.linspace(-1, 1, 10001)
  y = audio.mu_law_decode(audio.mu_law_encode(x))
  # Rounding happens in the companded domain: there the error is at most half
  # a class width (1 / mu); in the linear domain it grows with |x|.
  compand = lambda v: np.sign(v) * np.log1p(255 * np.abs(v)) / np.log1p(255)
  assert np.abs(compand(y) - compand(x)).max() <= 1 / 255 + 1e-12
  # Fine resolution near 0: 10x finer than a linear 8-bit quantizer (1 / 256).
  assert np.abs(y - x)[np.abs(x) < 0.01].max() < 3e-4
  assert audio.mu_law_encode(0.0) == 128 and audio.mu_law_encode(-1.0) == 0
  with pytest.raises(ValueError, match="classes"):
    audio.mu_law_decode(np.array([256]))


def test_wav_round_trip(tmp_path):
  rng = np.random.default_rng(0)
  pcm = rng.integers(-32768, 32768, 999).astype(np.int16)
  path = str(tmp_path / "a.wav")
  audio.write_wav(path, pcm, 8000)
  got, rate = audio.read_wav(path)
  assert rate == 8000
  np.testing.assert_array_equal(got, pcm)
  audio.write_wav(path, audio.pcm_to_float(pcm), 8000)  # float in, same int16 out
  np.testing.assert_array_equal(audio.read_wav(path)[0], pcm)


def test_log_mel_peaks_at_a_pure_tone():
  rate, hop = 8000, 80
  fb = audio.mel_filterbank(80, 512, rate)
  assert fb.shape == (257, 80) and (fb.max(0) > 0).all()  # no empty filter
  centres = audio.mel_to_hz(np.linspace(0, audio.hz_to_mel(4000), 82))[1:-1]
  for f in (300.0, 1000.0, 2500.0):
    x = 0.5 * np.sin(2 * np.pi * f * np.arange(4000) / rate)
    m = audio.log_mel(x, rate, hop=hop)
    assert m.shape == (50, 80) and m.dtype == np.float32
    peak = np.argmax(m[10:40], axis=1)  # frames away from the clip's edges
    assert (np.abs(centres[peak] - f) <= np.diff(centres)[peak]).all(), (f, centres[peak])
  # Frame j is centred on block j: a click in block 20 peaks in frame 20's energy.
  click = np.zeros(4000)
  click[20 * hop + hop // 2] = 1.0
  assert np.argmax(audio.log_mel(click, rate).sum(1)) == 20


def test_spectrogram_dbfs_reads_a_tone_at_its_level_and_frequency():
  rate = 8000
  t = np.arange(rate) / rate
  for amp, f in ((1.0, 1000.0), (0.1, 2500.0)):  # both on a bin centre (31.25 Hz bins)
    db, hop_s, bin_hz = audio.spectrogram_dbfs(amp * np.sin(2 * np.pi * f * t), rate)
    assert db.shape == (100, 129) and (hop_s, bin_hz) == (0.01, 31.25)  # 10 ms, 25 ms -> 256
    inner = db[5:95]  # frames away from the clip's edges
    np.testing.assert_array_equal(np.argmax(inner, axis=1) * bin_hz, f)
    np.testing.assert_allclose(inner.max(axis=1), 20 * np.log10(amp), atol=0.01)
  assert audio.spectrogram_dbfs(np.zeros(800), rate)[0].min() == -120.0  # the floor


def _fake_deb(tmp_path, clip_lengths):
  """A .deb laid out like asterisk-core-sounds-en-wav, with tiny noise clips."""
  root = tmp_path / "pkg"
  sounds = root / speech.SOUNDS_DIR
  rng = np.random.default_rng(1)
  for i, n in enumerate(clip_lengths):
    sub = ("digits", "letters", "")[i % 3]
    os.makedirs(sounds / sub, exist_ok=True)
    audio.write_wav(str(sounds / sub / f"c{i:02d}.wav"),
                    (rng.standard_normal(n) * 3000).astype(np.int16), 8000)
  os.makedirs(sounds / "silence", exist_ok=True)
  audio.write_wav(str(sounds / "silence" / "1.wav"), np.zeros(800, np.int16), 8000)
  os.makedirs(root / "DEBIAN")
  (root / "DEBIAN" / "control").write_text(
      "Package: fake-sounds\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\n"
      "Description: test\n")
  deb = tmp_path / "fake.deb"
  subprocess.run(["dpkg-deb", "-b", str(root), str(deb)], check=True, capture_output=True)
  return str(deb)


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_prepare_and_load_a_tiny_stand_in(tmp_path, monkeypatch):
  lengths = [160 + 37 * i for i in range(17)]  # not multiples of the 80-sample hop
  deb = _fake_deb(tmp_path, lengths)
  data_dir = str(tmp_path / "data")
  with pytest.raises(specs.DatasetNotPreparedError,
                     match=r"python -m ar_jax.data.prepare asterisk_speech"):
    speech.load_split(speech.NAME, "train", data_dir)
  pinned = sources.PinnedArchive(os.path.basename(deb), sources.sha256_of(deb), {})
  monkeypatch.setattr(speech_build, "DEB", pinned)
  os.makedirs(os.path.join(data_dir, "downloads"))
  shutil.copy(deb, os.path.join(data_dir, "downloads"))
  rel = [os.path.join(("digits", "letters", "")[i % 3], f"c{i:02d}.wav") for i in range(17)]
  cut = [lengths[i] - lengths[i] % 80 for i in sorted(range(17), key=rel.__getitem__)]
  want = {s: sum(n for i, n in enumerate(cut) if speech.split_of(i) == s) for s in speech.SPLITS}
  monkeypatch.setattr(speech, "SPLITS", want)
  prepare_lib.prepare(speech.NAME, data_dir=data_dir)  # no apt: the pinned copy is in downloads/
  clips = speech_build.read_clips(os.path.join(data_dir, "downloads", pinned.filename), pinned)
  assert len(clips) == 17 and not any(p.startswith("silence/") for p, _ in clips)
  seen = set()
  for split in ("train", "validation", "test"):
    a = speech.load_split(speech.NAME, split, data_dir)
    ids = list(dict.fromkeys(a["file_id"].tolist()))  # file order, each once
    assert ids == [i for i in range(17) if speech.split_of(i) == split]
    assert not seen & set(ids)
    seen |= set(ids)
    assert len(a["audio"]) == want[split] == 80 * len(a["mel"])
    expect = np.concatenate([audio.mu_law_encode(audio.pcm_to_float(clips[i][1][:cut[i]]))
                             for i in ids])
    np.testing.assert_array_equal(a["audio"], expect)
  assert seen == set(range(17))


def _hop_arrays(n=960, hop=80):
  return {"x": np.arange(n), "cond": np.arange(n // hop)}


def test_train_windows_carry_aligned_lower_rate_rows():
  arrays = _hop_arrays()
  tw = pipeline.TrainWindows(arrays, batch_size=5, seed=0, seq_len=160, hops={"cond": 80})
  for step in range(3):
    b = tw.local_batch(step)
    assert (b["x"][:, 0] % 80 == 0).all()
    np.testing.assert_array_equal(b["cond"], b["x"][:, ::80] // 80)
  with pytest.raises(ValueError, match="multiple of 80"):
    pipeline.TrainWindows(arrays, batch_size=1, seed=0, seq_len=100, hops={"cond": 80})


def test_eval_windows_cover_every_position_once_with_aligned_rows():
  arrays = _hop_arrays(n=80 * 11)
  ev = pipeline.EvalBatches(arrays, batch_size=2, seq_len=240, hops={"cond": 80})
  scored = np.zeros(80 * 11, int)
  for _, b, mask in ev:
    scored[b["x"][mask]] += 1
    rows = mask.any(1)
    np.testing.assert_array_equal(b["cond"][rows], b["x"][rows, ::80] // 80)
  np.testing.assert_array_equal(scored, 1)


def test_config_gives_the_model_local_conditioning():
  import ml_collections  # pylint: disable=import-outside-toplevel
  from ar_jax import configs  # pylint: disable=import-outside-toplevel
  c = configs.default_config()
  c.data.name, c.data.binarization, c.data.seq_len = speech.NAME, "none", 160
  c.data.cond_feature = "mel"
  info = pipeline.data_info(c.data)
  assert info.shape == (160,) and info.cond.shape == (2, 80) and info.cond.hop == 80
  model = from_config.from_config(ml_collections.ConfigDict(dict(
      name="wavenet", hparams=dict(num_stacks=1, layers_per_stack=2))), info)
  assert (model.local_channels, model.local_hop, model.num_classes) == (80, 80, 256)
  c.data.seq_len = 100
  with pytest.raises(ValueError, match="multiple of 80"):
    pipeline.data_info(c.data)

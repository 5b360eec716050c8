"""Fetching and building `asterisk_speech` (see `ar_jax.data.speech`).

`build` fetches the Debian package asterisk-core-sounds-en-wav with
`apt-get download` into `<data_dir>/downloads/` (sha256-pinned, never
installed), opens it with `dpkg-deb -x`, encodes every clip (mu-law audio
and standardized log-mel frames) and writes the TFDS array_record dataset
`ar_jax_asterisk_speech`; `ar_jax.data.prepare` calls it.
"""

import glob
import os

import numpy as np
import tensorflow_datasets as tfds

from ar_jax import audio
from ar_jax.data import builders
from ar_jax.data import sources
from ar_jax.data import specs
from ar_jax.data import speech

APT_PACKAGE = "asterisk-core-sounds-en-wav=1.6.1-1"
DEB = sources.PinnedArchive(
    filename="asterisk-core-sounds-en-wav_1.6.1-1_all.deb",
    # Measured on bookworm with `apt-get download` (18,272,864 bytes).
    sha256="2be3ea287d83299d143815fa804f11179a75b7affd4a758b98b55f5afc18a35d",
    members={})


def _apt_download(tmp):
  return sources.apt_download(APT_PACKAGE, tmp, (
      f"Without apt, fetch {DEB.filename} by hand (`apt-get download {APT_PACKAGE}` "
      "on a Debian 12 machine) and put it in the downloads/ dir."))


def fetch_deb(downloads_dir, *, allow_fetch=True):
  """Verified path of the .deb in downloads_dir; a bad copy is fetched again."""
  return sources.fetch_archive(DEB, downloads_dir, _apt_download, allow_fetch)


def read_clips(deb_path, archive=None):
  """[(path under SOUNDS_DIR, int16 samples)] of the speech clips, sorted by path."""
  archive = archive or DEB
  clips = []
  with sources.unpacked_deb(deb_path, archive) as tmp:
    root = os.path.join(tmp, speech.SOUNDS_DIR)
    for path in sorted(glob.glob(os.path.join(root, "**", "*.wav"), recursive=True)):
      rel = os.path.relpath(path, root)
      if rel.startswith(speech.EXCLUDED):
        continue
      pcm, rate = audio.read_wav(path)
      if rate != speech.RATE:
        raise ValueError(f"{rel}: sample rate {rate}, expected {speech.RATE}")
      clips.append((rel, pcm))
  return clips


def encode_clips(clips):
  """{split: [(file_id, audio uint8 [n], log-mel float32 [n / HOP, NUM_MELS])]}.

  Clips are cut to whole blocks; log-mels are standardized with the train
  frames' mean and std (returned too, as (mean, std)).
  """
  out = {"train": [], "validation": [], "test": []}
  for file_id, (_, pcm) in enumerate(clips):
    n = len(pcm) - len(pcm) % speech.HOP
    x = audio.pcm_to_float(pcm[:n])
    out[speech.split_of(file_id)].append(
        (file_id, audio.mu_law_encode(x).astype(np.uint8),
         audio.log_mel(x, speech.RATE, hop=speech.HOP, num_mels=speech.NUM_MELS)))
  train = np.concatenate([m for _, _, m in out["train"]]).astype(np.float64)
  mean, std = float(train.mean()), float(train.std())
  if len(out["train"]) == speech.NUM_FILES_BY_SPLIT["train"] and not np.allclose(
      (mean, std), speech.MEL_STATS, rtol=1e-5):
    raise ValueError(f"{speech.NAME}: train log-mel stats {(mean, std)} differ from the "
                     f"recorded {speech.MEL_STATS}: the features changed")
  for split, rows in out.items():
    out[split] = [(i, a, ((m - mean) / std).astype(np.float32)) for i, a, m in rows]
  return out, (mean, std)


class ArJaxAsteriskSpeech(builders.ArJaxBuilder):
  """One record per clip: mu-law audio, log-mel frames, file id."""
  name = speech.TFDS_NAME
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"Run `{specs.PREPARE_COMMAND} {speech.NAME}`."

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self, description=speech.spec().description,
        features=tfds.features.FeaturesDict({
            "audio": tfds.features.Tensor(shape=(None,), dtype=np.uint8),
            "mel": tfds.features.Tensor(shape=(None, speech.NUM_MELS), dtype=np.float32),
            "file_id": tfds.features.Scalar(dtype=np.int32),
        }),
        disable_shuffling=True,  # stored order = file order
        homepage="https://packages.debian.org/bookworm/asterisk-core-sounds-en-wav",
        license="CC-BY-SA-3.0")

  def _split_generators(self, dl_manager):
    clips = read_clips(fetch_deb(str(dl_manager.manual_dir), allow_fetch=False))
    encoded, _ = encode_clips(clips)
    return {s: self._generate_examples(rows) for s, rows in encoded.items()}

  def _generate_examples(self, rows):
    for file_id, a, m in rows:
      yield file_id, {"audio": a, "mel": m, "file_id": file_id}


def build(name, data_dir):
  """Fetches and verifies the .deb and builds the TFDS dataset into `data_dir`."""
  downloads = os.path.join(data_dir, "downloads")
  fetch_deb(downloads)
  builder = ArJaxAsteriskSpeech(data_dir=data_dir, file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=downloads))
  sizes = {s: len(speech.load_split(name, s, data_dir)["audio"]) for s in speech.SPLITS}
  if sizes != speech.SPLITS:
    raise ValueError(f"{speech.NAME}: built split sizes {sizes} differ from the pinned "
                     f"{speech.SPLITS}: the reader or the preparation changed")
  return str(builder.data_dir)

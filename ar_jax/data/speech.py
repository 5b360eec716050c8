"""`asterisk_speech`: 25 min of real 8 kHz speech as a mu-law stream with log-mel frames.

Source: the Debian package asterisk-core-sounds-en-wav 1.6.1-1 (CC-BY-SA-3.0,
one female speaker, Allison Smith), fetched with `apt-get download` (never
installed), sha256-pinned, opened with `dpkg-deb -x`. Every WAV under `en_US_f_Allison/` except the `silence/` folder (ten
clips of digital silence) is used: 558 clips, mono 16-bit PCM at 8 kHz.

Preparation (`prepare`), deterministic:
1. Clips are sorted by path; file_id = index in that order (0..557).
2. Fixed split by file: clip i goes to "test" if i % 20 == 10, to
   "validation" if i % 20 == 15, else to "train" (28 / 28 / 502 clips; no
   clip is in two splits; every folder is spread over all three).
3. Each clip is cut to a whole number of 10 ms blocks (a multiple of
   HOP = 80 samples; drops < 10 ms of its tail), mu-law encoded to 256
   classes (`ar_jax.audio.mu_law_encode`), and its log-mel frames are
   computed (`ar_jax.audio.log_mel`: 80 mel bins, 25 ms Hann window, one
   frame per 80-sample block, centred on it), then standardized with the
   mean and standard deviation of all train frames (two scalars, `MEL_STATS`).
4. Stored as TFDS array_record `ar_jax_asterisk_speech`, one record per clip
   (`audio` uint8 [n], `mel` float32 [n / 80, 80], `file_id`).

`load_split` concatenates a split's clips in file order into one stream:
`audio` [N] and `file_id` [N] per sample, `mel` [N / 80, 80] per block
(`Feature.hop` = 80): mel row j describes samples [80 j, 80 j + 80).

This module is the read side (the spec, the split rule, `load_split`);
fetching and building are in `ar_jax.data.speech_build`.
"""

import os

import numpy as np

from ar_jax.data import specs

NAME = "asterisk_speech"
TFDS_NAME = "ar_jax_asterisk_speech"
VERSION = specs.TFDS_VERSION
RATE = 8000
HOP = 80  # samples per mel frame: 10 ms at 8 kHz
NUM_MELS = 80
SOUNDS_DIR = "usr/share/asterisk/sounds/en_US_f_Allison"
EXCLUDED = ("silence/",)  # digital silence, not speech
# Positions (samples) per split after cutting clips to whole blocks; checked
# when the dataset is built, so a different package cannot pass silently.
SPLITS = {"train": 10280720, "validation": 1029840, "test": 457280}
# (mean, std) of the raw log-mels of all train frames, recorded at build time.
MEL_STATS = (-5.450699, 4.815176)
NUM_FILES = 558
NUM_FILES_BY_SPLIT = {"train": 502, "validation": 28, "test": 28}


def split_of(file_id):
  """The split of clip `file_id` (index in path order): the fixed rule above."""
  r = file_id % 20
  return "test" if r == 10 else "validation" if r == 15 else "train"


def spec():
  """The `DatasetSpec` registered in `ar_jax.data.registry.DATASETS`."""
  return specs.DatasetSpec(
      name=NAME,
      features=(specs.Feature("audio", "uint8", (), num_classes=256),
                specs.Feature("file_id", "int32", (), num_classes=NUM_FILES),
                specs.Feature("mel", "float32", (NUM_MELS,), hop=HOP)),
      splits=dict(SPLITS), x="audio", kind="stream",
      source="ar_jax.data.speech:load_split", tfds_name=TFDS_NAME,
      description=(
          "Debian asterisk-core-sounds-en-wav 1.6.1-1 (CC-BY-SA-3.0): 558 clips "
          "of one speaker, 8 kHz, mu-law 256 classes, split by file (i % 20 == "
          "10 test, == 15 validation), with standardized 80-bin log-mel frames "
          "every 80 samples (ar_jax.data.speech)."))


def _built_dir(data_dir):
  return os.path.join(data_dir, TFDS_NAME, VERSION)


def is_prepared(name, *, data_dir=None):
  del name
  return os.path.exists(os.path.join(_built_dir(specs.resolve_data_dir(data_dir)),
                                     "dataset_info.json"))


def load_split(name, split, data_dir):
  """The split as one stream: {"audio" [N], "file_id" [N], "mel" [N / HOP, 80]}."""
  # TFDS is an optional heavy dependency (the `data` extra): imported on use.
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  data_dir = specs.resolve_data_dir(data_dir)
  if not is_prepared(name, data_dir=data_dir):
    raise specs.not_prepared_error(name, data_dir)
  src = tfds.builder_from_directory(_built_dir(data_dir)).as_data_source(split=split)
  records = src.__getitems__(list(range(len(src))))
  if not records:
    return {"audio": np.zeros((0,), np.uint8), "file_id": np.zeros((0,), np.int32),
            "mel": np.zeros((0, NUM_MELS), np.float32)}
  return {
      "audio": np.concatenate([r["audio"] for r in records]),
      "file_id": np.concatenate([np.full(len(r["audio"]), r["file_id"], np.int32)
                                 for r in records]),
      "mel": np.concatenate([r["mel"] for r in records]),
  }

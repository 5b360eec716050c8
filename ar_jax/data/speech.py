"""`asterisk_speech`: 25 min of real 8 kHz speech as a mu-law stream with log-mel frames.

Source: the Debian package asterisk-core-sounds-en-wav 1.6.1-1 (CC-BY-SA-3.0,
one female speaker, Allison Smith), fetched with `apt-get download` (never
installed), sha256-pinned, opened with `dpkg-deb -x`; see /work/shared/DATASETS.md
Sec. 4. Every WAV under `en_US_f_Allison/` except the `silence/` folder (ten
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
"""

import glob
import inspect
import os
import shutil
import subprocess
import tempfile

from etils import epath
import numpy as np

from ar_jax import audio
from ar_jax.data import sources
from ar_jax.data import specs

NAME = "asterisk_speech"
TFDS_NAME = "ar_jax_asterisk_speech"
VERSION = "1.0.0"
RATE = 8000
HOP = 80  # samples per mel frame: 10 ms at 8 kHz
NUM_MELS = 80
SOUNDS_DIR = "usr/share/asterisk/sounds/en_US_f_Allison"
EXCLUDED = ("silence/",)  # digital silence, not speech
APT_PACKAGE = "asterisk-core-sounds-en-wav=1.6.1-1"
DEB = sources.PinnedArchive(
    filename="asterisk-core-sounds-en-wav_1.6.1-1_all.deb",
    # Measured on bookworm with `apt-get download` (18,272,864 bytes).
    sha256="2be3ea287d83299d143815fa804f11179a75b7affd4a758b98b55f5afc18a35d",
    members={})
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
  """The `DatasetSpec` registered in `ar_jax.data.specs.DATASETS`."""
  return specs.DatasetSpec(
      name=NAME,
      features=(specs.Feature("audio", "uint8", (), num_classes=256),
                specs.Feature("file_id", "int32", (), num_classes=NUM_FILES),
                specs.Feature("mel", "float32", (NUM_MELS,), hop=HOP)),
      splits=dict(SPLITS), x="audio", kind="stream",
      source="ar_jax.data.speech:load_split",
      description=(
          "Debian asterisk-core-sounds-en-wav 1.6.1-1 (CC-BY-SA-3.0): 558 clips "
          "of one speaker, 8 kHz, mu-law 256 classes, split by file (i % 20 == "
          "10 test, == 15 validation), with standardized 80-bin log-mel frames "
          "every 80 samples (ar_jax.data.speech)."))


def _apt_download(tmp):
  return sources.apt_download(APT_PACKAGE, tmp, (
      f"Without apt, fetch {DEB.filename} by hand (`apt-get download {APT_PACKAGE}` "
      "on a Debian 12 machine) and put it in the downloads/ dir."))


def fetch_deb(downloads_dir, *, allow_fetch=True):
  """Verified path of the .deb in downloads_dir; a bad copy is fetched again."""
  return sources._fetch(DEB, downloads_dir, _apt_download, allow_fetch)  # pylint: disable=protected-access


def read_clips(deb_path, archive=None):
  """[(path under SOUNDS_DIR, int16 samples)] of the speech clips, sorted by path."""
  archive = archive or DEB
  sources.verify(deb_path, archive.sha256, deb_path)
  if shutil.which("dpkg-deb") is None:
    raise RuntimeError("dpkg-deb not found: it is needed to open the "
                       f"{archive.filename} (apt-get install dpkg).")
  clips = []
  with tempfile.TemporaryDirectory() as tmp:
    proc = subprocess.run(["dpkg-deb", "-x", deb_path, tmp], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
      raise RuntimeError(f"dpkg-deb -x {deb_path} failed: {proc.stderr}")
    root = os.path.join(tmp, SOUNDS_DIR)
    for path in sorted(glob.glob(os.path.join(root, "**", "*.wav"), recursive=True)):
      rel = os.path.relpath(path, root)
      if rel.startswith(EXCLUDED):
        continue
      pcm, rate = audio.read_wav(path)
      if rate != RATE:
        raise ValueError(f"{rel}: sample rate {rate}, expected {RATE}")
      clips.append((rel, pcm))
  return clips


def encode_clips(clips):
  """{split: [(file_id, audio uint8 [n], log-mel float32 [n / HOP, NUM_MELS])]}.

  Clips are cut to whole blocks; log-mels are standardized with the train
  frames' mean and std (returned too, as (mean, std)).
  """
  out = {"train": [], "validation": [], "test": []}
  for file_id, (_, pcm) in enumerate(clips):
    n = len(pcm) - len(pcm) % HOP
    x = audio.pcm_to_float(pcm[:n])
    out[split_of(file_id)].append(
        (file_id, audio.mu_law_encode(x).astype(np.uint8),
         audio.log_mel(x, RATE, hop=HOP, num_mels=NUM_MELS)))
  train = np.concatenate([m for _, _, m in out["train"]]).astype(np.float64)
  mean, std = float(train.mean()), float(train.std())
  if len(out["train"]) == NUM_FILES_BY_SPLIT["train"] and not np.allclose(
      (mean, std), MEL_STATS, rtol=1e-5):
    raise ValueError(f"{NAME}: train log-mel stats {(mean, std)} differ from the "
                     f"recorded {MEL_STATS}: the features changed")
  for split, rows in out.items():
    out[split] = [(i, a, ((m - mean) / std).astype(np.float32)) for i, a, m in rows]
  return out, (mean, std)


def _builder_class():
  """The TFDS builder (TFDS is imported only when a build or read needs it)."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

  class ArJaxAsteriskSpeech(tfds.core.GeneratorBasedBuilder):
    """One record per clip: mu-law audio, log-mel frames, file id."""
    name = TFDS_NAME
    VERSION = tfds.core.Version(VERSION)
    RELEASE_NOTES = {str(VERSION): "First release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"Run `{specs.PREPARE_COMMAND} {NAME}`."

    @tfds.core.utils.classproperty
    @classmethod
    def code_path(cls):  # as in ar_jax.data.builders
      return epath.Path(inspect.getfile(cls))

    def _info(self):
      return tfds.core.DatasetInfo(
          builder=self, description=spec().description,
          features=tfds.features.FeaturesDict({
              "audio": tfds.features.Tensor(shape=(None,), dtype=np.uint8),
              "mel": tfds.features.Tensor(shape=(None, NUM_MELS), dtype=np.float32),
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

  return ArJaxAsteriskSpeech


def _built_dir(data_dir):
  return os.path.join(data_dir, TFDS_NAME, VERSION)


def is_prepared(name, *, data_dir=None):
  del name
  return os.path.exists(os.path.join(_built_dir(specs.resolve_data_dir(data_dir)),
                                     "dataset_info.json"))


def prepare(name, data_dir=None):
  """Fetches and verifies the .deb, builds the TFDS dataset; no-op when built."""
  data_dir = specs.resolve_data_dir(data_dir)
  downloads = os.path.join(data_dir, "downloads")
  if is_prepared(name, data_dir=data_dir):
    fetch_deb(downloads, allow_fetch=False)  # verify a kept copy, if any
    return _built_dir(data_dir)
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  fetch_deb(downloads)
  builder = _builder_class()(data_dir=data_dir, file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=downloads))
  sizes = {s: len(load_split(name, s, data_dir)["audio"]) for s in SPLITS}
  if sizes != SPLITS:
    raise ValueError(f"{NAME}: built split sizes {sizes} differ from the pinned "
                     f"{SPLITS}: the reader or the preparation changed")
  return str(builder.data_dir)


def load_split(name, split, data_dir):
  """The split as one stream: {"audio" [N], "file_id" [N], "mel" [N / HOP, 80]}."""
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

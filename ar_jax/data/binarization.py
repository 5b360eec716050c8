"""Binarization of 8-bit images: fixed, dynamic and threshold.

All three start from uint8 intensities k in 0..255 (intensity x = k/256, as
in the MNIST pickle) and produce uint8 {0, 1}:

- fixed: one Bernoulli(k/256) sample, drawn once with a documented seed and
  stored (`binarized_mnist`): `fixed_binarize(x, split)`.
- dynamic: a fresh Bernoulli(k/256) sample every epoch, drawn in the training
  pipeline from `mnist_8bit`: `binarize(x, key)`.
- threshold: x >= 0.5, i.e. k >= 128: `threshold(x)`.

Numbers under these three are different benchmarks and are not comparable.
A pixel is 1 iff u < k with u uniform on 0..255, so P(1) = k/256 exactly.
"""

import jax
import jax.numpy as jnp
import numpy as np

# Seed of the fixed binarization; the generator for a split is
# numpy.random.default_rng([FIXED_SEED, SPLIT_IDS[split]]) (PCG64).
FIXED_SEED = 0
SPLIT_IDS = {"train": 0, "validation": 1, "test": 2}


def _check_uint8(x):
  if x.dtype != np.uint8:
    raise TypeError(f"binarization expects uint8 intensities 0..255, got "
                    f"{x.dtype}; convert floats k/256 with "
                    f"np.round(x * 256).astype(np.uint8)")


def binarize(x_uint8, key_or_seed):
  """One Bernoulli(k/256) sample per pixel of uint8 `x_uint8`.

  Args:
    x_uint8: uint8 array of intensities (numpy or jax).
    key_or_seed: a `jax.random` key (typed or raw; the jax path, jittable,
      returns a jax array) or anything `numpy.random.default_rng` accepts
      (int, sequence of ints, Generator; returns numpy).
  Returns:
    uint8 {0, 1} array of the same shape.
  """
  _check_uint8(x_uint8)
  if isinstance(key_or_seed, jax.Array):
    return _binarize_jax(x_uint8, key_or_seed)
  rng = np.random.default_rng(key_or_seed)
  u = rng.integers(0, 256, size=np.shape(x_uint8), dtype=np.uint8)
  return (u < np.asarray(x_uint8)).astype(np.uint8)


@jax.jit
def _binarize_jax(x_uint8, key):
  # One compiled program: eager jax.random would compile op by op.
  u = jax.random.bits(key, jnp.shape(x_uint8), dtype=jnp.uint8)
  return (u < x_uint8).astype(jnp.uint8)


def fixed_binarize(x_uint8, split):
  """The stored binarization of a split: numpy PCG64 seeded [0, split id]."""
  if split not in SPLIT_IDS:
    raise ValueError(f"fixed binarization is defined for splits "
                     f"{sorted(SPLIT_IDS)}, got {split!r}")
  return binarize(np.asarray(x_uint8), [FIXED_SEED, SPLIT_IDS[split]])


def threshold(x_uint8):
  """Deterministic binarization: 1 where intensity k/256 >= 0.5 (k >= 128)."""
  _check_uint8(x_uint8)
  return (x_uint8 >= 128).astype(x_uint8.dtype)

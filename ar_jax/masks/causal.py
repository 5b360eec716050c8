"""Causal masks and paddings for sequences: 1-D convolutions and attention."""

import numpy as np

from ar_jax.masks.orderings import positive_int


def causal_conv1d_padding(kernel_size, dilation=1):
  """(left, right) padding that makes a dilated 1-D conv causal."""
  positive_int(kernel_size, "kernel_size")
  positive_int(dilation, "dilation")
  return ((kernel_size - 1) * dilation, 0)


def causal_attention_mask(length, exclusive=False):
  """bool [T, T]: [t, s] True iff s <= t (s < t if `exclusive`).

  With `exclusive`, row 0 is all False: a softmax over it is undefined, so the
  caller must give step 0 something to attend to (e.g. a start token).
  """
  positive_int(length, "length")
  t = np.arange(length)
  return t[None, :] < t[:, None] if exclusive else t[None, :] <= t[:, None]

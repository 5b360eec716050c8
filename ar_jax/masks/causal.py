"""Causal masks and paddings for sequences: 1-D convolutions and attention."""

import numpy as np

from ar_jax.masks.orderings import positive_int


def causal_conv1d_padding(kernel_size, dilation=1):
  """(left, right) padding that makes a dilated 1-D conv causal."""
  positive_int(kernel_size, "kernel_size")
  positive_int(dilation, "dilation")
  return ((kernel_size - 1) * dilation, 0)


def causal_conv1d_mask(kernel_size, exclusive=False):
  """float32 [k] mask for a *centred* odd kernel (SAME padding).

  Tap j has offset j - k//2; it is kept iff offset <= 0 (< 0 if `exclusive`).
  Broadcast as `mask[:, None, None]` over a [k, Cin, Cout] kernel. (Left
  padding, `causal_conv1d_padding`, is the cheaper alternative.)
  """
  positive_int(kernel_size, "kernel_size")
  if kernel_size % 2 == 0:
    raise ValueError(f"kernel_size must be odd for a centred mask, got {kernel_size}")
  offset = np.arange(kernel_size) - kernel_size // 2
  return (offset < 0 if exclusive else offset <= 0).astype(np.float32)


def causal_attention_mask(length, exclusive=False):
  """bool [T, T]: [t, s] True iff s <= t (s < t if `exclusive`).

  With `exclusive`, row 0 is all False: a softmax over it is undefined, so the
  caller must give step 0 something to attend to (e.g. a start token).
  """
  positive_int(length, "length")
  t = np.arange(length)
  return t[None, :] < t[:, None] if exclusive else t[None, :] <= t[:, None]

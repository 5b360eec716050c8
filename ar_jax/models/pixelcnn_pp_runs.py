"""Where PixelCNN++'s layers read their input, and two ways to run them.

Every convolution of `ar_jax.models.pixelcnn_pp` reads a window of its input
padded by `shifted.pad_shifted`; a `Spec` says which window feeds output
(i, j). The model writes its two streams once, against a run context:
`FullRun` applies each layer to whole maps (training, likelihood, naive
sampling); `CachedRun` applies it at one image row (the u stream, at the
first pixel of a row) or one position (the ul stream, every pixel), reading
the window from ring-buffer caches of `RING` padded rows. Both cut the same
windows, so a cached step computes exactly what the whole-map pass does.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ar_jax.nn import shifted
from ar_jax.nn.causal import down_shift


class Spec(NamedTuple):
  """Which window of a `pad_shifted` input feeds output (i, j): rows from s*i + row_off."""
  kh: int
  kw: int
  row_off: int = 0
  col_off: int = 0
  stride: int = 1


DOWN = Spec(2, 3)                   # u stream: rows r-1..r, columns c-1..c+1
DOWN_RIGHT = Spec(2, 2)             # ul stream: rows r-1..r, columns c-1..c
DOWN2 = Spec(2, 3, stride=2)
DOWN_RIGHT2 = Spec(2, 2, stride=2)
FIRST_UP = Spec(1, 3, row_off=1)    # then down_shift: row r-1 only
FIRST_LEFT = Spec(2, 1, col_off=1)  # then right_shift: column c-1 only


def window(padded, spec, i0, j0, rows, cols):
  """The input window of `rows` x `cols` outputs starting at output (i0, j0)."""
  s = spec.stride
  size = (padded.shape[0], (rows - 1) * s + spec.kh, (cols - 1) * s + spec.kw, padded.shape[3])
  return jax.lax.dynamic_slice(padded, (0, s * i0 + spec.row_off, s * j0 + spec.col_off, 0), size)


class FullRun:
  """Runs the layers on whole maps (training, likelihood, naive sampling)."""

  def __init__(self, model, x_in):
    self.model, self.maps = model, {}
    self.maps["x"] = shifted.pad_shifted(x_in)

  def first(self, key, spec, shift):
    h, w = self.model.sizes[0]
    y = self.model.layers[key](window(self.maps["x"], spec, 0, 0, h, w))
    return down_shift(y) if shift == "down" else shifted.right_shift(y)

  def conv(self, key, v, spec, level):
    del level
    h, w = -(-v.shape[1] // spec.stride), -(-v.shape[2] // spec.stride)
    self.maps[key] = shifted.pad_shifted(v)  # recorded: init_cache takes its shapes
    return self.model.layers[key](window(self.maps[key], spec, 0, 0, h, w))

  def up(self, key, v, level_out):
    h, w = self.model.sizes[level_out]
    return self.model.layers[key](v)[:, :h, :w]

  def u_value(self, n, v, level):
    del level
    self.maps[f"u{n}"] = v
    return v


# Rows a cached map keeps (a ring buffer): a window reads padded rows p, p+1
# with p = s * i_out (+1) at most 2 rows behind the level's current row.
RING = 3


class CachedRun:
  """Runs the layers at one image row ("row": the u stream) or one position ("pos").

  `maps` hold each convolution's `pad_shifted` input as a ring of `RING`
  padded rows (padded row p in slot p % RING) and each u value the ul stream
  reads as its current row only: nothing older is ever read again.
  """

  def __init__(self, model, maps, r, c, mode):
    self.model, self.maps, self.r, self.c, self.mode = model, dict(maps), r, c, mode

  def pos(self, level):
    return self.r >> level, self.c >> level

  def _window(self, key, spec, i, j, cols):
    """Like `window` (one output row of `cols` outputs) on the ring `maps[key]`."""
    ring, s = self.maps[key], spec.stride
    size = (ring.shape[0], 1, (cols - 1) * s + spec.kw, ring.shape[3])
    rows = [jax.lax.dynamic_slice(ring, (0, (s * i + spec.row_off + t) % RING,
                                         s * j + spec.col_off, 0), size)
            for t in range(spec.kh)]
    return jnp.concatenate(rows, axis=1) if spec.kh > 1 else rows[0]

  def write(self, key, v, i, j):
    """Writes v [B, 1, n, C] at unpadded row i, columns j.. into the ring `maps[key]`."""
    self.maps[key] = jax.lax.dynamic_update_slice(self.maps[key], v, (0, (i + 1) % RING,
                                                                      j + 1, 0))

  def first(self, key, spec, shift):
    w = self.model.sizes[0][1] if self.mode == "row" else 1
    i, j = self.pos(0)
    i, j, valid = (i - 1, j, i > 0) if shift == "down" else (i, j - 1, j > 0)
    y = self.model.layers[key](self._window("x", spec, jnp.maximum(i, 0), j, w))
    return jnp.where(valid, y, 0.0)

  def conv(self, key, v, spec, level):
    i, j = self.pos(level)
    self.write(key, v, i, 0 if self.mode == "row" else j)
    out_level = level + (spec.stride == 2)
    i, j = self.pos(out_level)
    if self.mode == "row":
      return self.model.layers[key](self._window(key, spec, i, 0,
                                                 self.model.sizes[out_level][1]))
    return self.model.layers[key](self._window(key, spec, i, j, 1))

  def up(self, key, v, level_out):
    y = self.model.layers[key](v)  # [B, 2, 2w, F] (row) or [B, 2, 2, F] (pos)
    i, j = self.pos(level_out)
    if self.mode == "row":
      return jax.lax.dynamic_slice_in_dim(y, i % 2, 1, axis=1)[:, :, :self.model.sizes[level_out][1]]
    return jax.lax.dynamic_slice(y, (0, i % 2, j % 2, 0), (y.shape[0], 1, 1, y.shape[3]))

  def u_value(self, n, v, level):
    del level
    self.maps[f"u{n}"] = v  # The current row of its level.
    return v

  def read_u(self, n, level):
    _, j = self.pos(level)
    u = self.maps[f"u{n}"]
    return jax.lax.dynamic_slice(u, (0, 0, j, 0), (u.shape[0], 1, 1, u.shape[3]))

"""Image orderings for the registry of `masks.orderings`, and their symmetries.

Each orders the pixels of an H x W grid (registered with `image=True`, so
`get_ordering` takes shapes (H, W) and (H, W, C) and keeps a pixel's channels
together, in order):
- "s_curve": rows top to bottom, even rows left to right, odd rows right to left;
- "zigzag": JPEG's zigzag over the anti-diagonals;
- "spiral": clockwise from the top-left corner, ring by ring to the centre;
- "hilbert": a generalized Hilbert curve for any H x W.
`symmetries` gives the 8 flips and transposes of any image ordering (4 when
H != W). `observed_first` gives an explicit order for completion: the
observed pixels first, then the missing ones, each part in a base order.
"""

import math

import numpy as np

from ar_jax.masks.orderings import get_ordering, image_shape, register_ordering


@register_ordering("s_curve", image=True)
def _s_curve(shape, seed):
  """Rows top to bottom; even rows left to right, odd rows right to left."""
  del seed
  grid = np.arange(math.prod(shape)).reshape(shape)
  grid[1::2] = grid[1::2, ::-1]
  return grid.ravel()


@register_ordering("zigzag", image=True)
def _zigzag(shape, seed):
  """JPEG's zigzag: anti-diagonals r + c = s in turn, alternating direction."""
  del seed
  h, w = shape
  out = []
  for s in range(h + w - 1):
    rows = range(max(0, s - w + 1), min(s, h - 1) + 1)
    out += [r * w + s - r for r in (reversed(rows) if s % 2 == 0 else rows)]
  return np.array(out)


@register_ordering("spiral", image=True)
def _spiral(shape, seed):
  """Clockwise from the top-left corner, ring by ring to the centre."""
  del seed
  h, w = shape
  top, bottom, left, right = 0, h - 1, 0, w - 1
  cells = []
  while top <= bottom and left <= right:
    cells += [(top, c) for c in range(left, right + 1)]
    cells += [(r, right) for r in range(top + 1, bottom + 1)]
    if top < bottom:
      cells += [(bottom, c) for c in range(right - 1, left - 1, -1)]
    if left < right:
      cells += [(r, left) for r in range(bottom - 1, top, -1)]
    top, bottom, left, right = top + 1, bottom - 1, left + 1, right - 1
  return np.array([r * w + c for r, c in cells])


def _curve(start, a, b):
  """Generalized Hilbert curve through the rectangle at `start` spanned by a, b.

  `start`, `a` and `b` are (row, col) vectors; a and b are axis-aligned, a
  along the major direction. The curve starts at `start` and ends at
  `start + a - unit(a)`, the other end of the first line along a. Long
  rectangles are cut in two along a; others into three: the near half of b
  (traversed along b), the far part of b (whole width, along a, recursively),
  and the rest of the near half (back along -b). Halves are rounded to even
  lengths, so that every piece can end where the next one starts.
  """
  w, h = abs(a[0] + a[1]), abs(b[0] + b[1])
  da = (np.sign(a[0]), np.sign(a[1]))
  db = (np.sign(b[0]), np.sign(b[1]))
  if h == 1 or w == 1:
    step, n = (da, w) if h == 1 else (db, h)
    return [(start[0] + i * step[0], start[1] + i * step[1]) for i in range(n)]
  def scaled(u, n):
    return (u[0] * n, u[1] * n)
  def add(*vs):
    return tuple(sum(v[i] for v in vs) for i in range(2))
  if 2 * w > 3 * h:  # long: two pieces side by side along a
    w2 = w // 2 + (w // 2 % 2 if w > 2 else 0)
    a2 = scaled(da, w2)
    return _curve(start, a2, b) + _curve(add(start, a2), scaled(da, w - w2), b)
  h2 = h // 2 + (h // 2 % 2 if h > 2 else 0)
  b2, a2 = scaled(db, h2), scaled(da, w // 2)
  far_corner = add(start, a, scaled(da, -1), b2, scaled(db, -1))
  return (_curve(start, b2, a2) + _curve(add(start, b2), a, scaled(db, h - h2))
          + _curve(far_corner, scaled(db, -h2), scaled(da, -(w - w // 2))))


@register_ordering("hilbert", image=True)
def _hilbert(shape, seed):
  """A generalized Hilbert curve for any H x W, from the top-left corner.

  Consecutive pixels are 4-neighbours whenever H or W is even: the curve runs
  from one corner to the next along an even side (the longer one when both
  are even or both odd), which a path of unit steps needs when H * W is even.
  """
  del seed
  h, w = shape
  along_rows = (w % 2 == 0) if (h % 2) != (w % 2) else w >= h
  cells = _curve((0, 0), (0, w), (h, 0)) if along_rows else _curve((0, 0), (h, 0), (0, w))
  return np.array([r * w + c for r, c in cells])


def symmetries(spec, shape, seed=None):
  """The flips and transposes of image ordering `spec` on `shape`, int [8, D] or [4, D].

  Row k is the ordering with every pixel (r, c) moved to, in turn: (r, c)
  (itself), (H-1-r, c) (flipped upside down), (r, W-1-c) (mirrored),
  (H-1-r, W-1-c) (turned 180 degrees) and, for square images only, (c, r)
  (transposed), (W-1-c, r), (c, H-1-r) and (W-1-c, H-1-r). A transpose of a
  non-square image has another shape, so H != W gives the first 4 rows.
  Channels stay in place. `spec` is anything `get_ordering` takes.
  """
  order = get_ordering(spec, shape, seed=seed)
  shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
  h, w, c = image_shape(shape, "symmetries (flips and transposes of an image)")
  pixel, channel = np.divmod(order, c)
  r, col = np.divmod(pixel, w)
  moves = [(r, col), (h - 1 - r, col), (r, w - 1 - col), (h - 1 - r, w - 1 - col)]
  if h == w:
    moves += [(col, r), (w - 1 - col, r), (col, h - 1 - r), (w - 1 - col, h - 1 - r)]
  return np.stack([(rr * w + cc) * c + channel for rr, cc in moves])


def observed_first(known, base="s_curve", seed=None):
  """A pixel order that generates the observed pixels first, int [H * W].

  For completion with an order-agnostic image model (LMConv): the observed
  pixels come first, then the missing ones, each part in the order `base`
  gives them, so every missing pixel is conditioned on every observed one.

  Args:
    known: bool [H, W], True where the pixel is observed.
    base: anything `get_ordering` takes for shape (H, W).
    seed: passed to `get_ordering` (for base="random").
  Returns:
    A permutation of range(H * W), flat row-major pixel indices.
  """
  known = np.asarray(known)
  if known.ndim != 2 or known.dtype != bool:
    raise ValueError(f"known must be a bool array [H, W] (True where the pixel is "
                     f"observed), got {known.dtype} of shape {known.shape}; for an image "
                     f"mask [H, W, C] pass known.all(-1)")
  order = get_ordering(base, known.shape, seed=seed)
  seen = known.reshape(-1)[order]
  return np.concatenate([order[seen], order[~seen]])

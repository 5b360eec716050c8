"""Orderings, MADE degrees and pools of them: the one place randomness is drawn.

An *ordering* is a permutation of range(D) listing the dims in generation
order, as flat row-major indices of the shape the dims are laid out on; the
*position* of dim d is its index in the ordering (0-based) and its MADE
*degree* is position + 1 (1..D). Hidden degrees lie in [1, D - 1].

Orderings are a registry: `@register_ordering(name)` on a function
`(shape, seed) -> permutation` makes `name` a spec that `get_ordering`, the
pools below and every model's `ordering=` accept, as is an explicit
permutation. Registered: "raster" (alias "natural"), "reversed", "random"
(seeded), and the image orderings "s_curve", "hilbert", "spiral" and "zigzag",
which need a shape (H, W) or (H, W, C) and order pixels, a pixel's channels
in turn. `symmetries` gives the flips and transposes of an image ordering.

How random orderings and degrees are drawn:
- `get_ordering("random", D, seed=s)` is `np.random.default_rng(s).permutation(D)`.
- A pool of M orderings with seed s (`ordering_pool`; DeepNADE, and with
  M = 1 NADE, RNADE and FVSBN): entry 0 is the spec's own ordering; entry
  m >= 1 is the m-th `permutation(D)` drawn in turn from
  `np.random.default_rng([s, 1])`, a stream of its own, so that a "random"
  entry 0 is not repeated as entry 1 and growing a pool keeps earlier entries.
- `chained_hidden_degrees` (`made_masks`) draws a MADE's hidden layers in turn
  from one `np.random.default_rng(seed)`.
- The MADE model's pool (`made_pool_v0`) reads orderings and per-layer degree
  seeds from one `np.random.default_rng(seed)` in entry order (its docstring
  spells it out); its masks are a pure function of the MADE hyperparameters.
"""

import functools
import math

import numpy as np


def positive_int(value, name):
  """Raises unless `value` is an int >= 1 (bools are not counts)."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{name} must be a positive int, got {value!r}")


def _permutation_problem(order, d):
  """What keeps `order` (an array) from being a permutation of range(d), or None."""
  if order.ndim != 1:
    return f"it has shape {order.shape}, expected a flat sequence of {d} ints"
  if order.shape[0] != d:
    return f"it has {order.shape[0]} entries, expected {d}"
  if d == 0:
    return None
  if not np.issubdtype(order.dtype, np.integer):
    return f"its entries are not ints (dtype {order.dtype})"
  counts = np.bincount(order[(order >= 0) & (order < d)], minlength=d)
  outside = sorted({int(i) for i in order if not 0 <= i < d})
  problems = [f"{what} {vals[:5]}{' ...' if len(vals) > 5 else ''}" for what, vals in (
      ("values outside range", outside),
      ("repeated", np.flatnonzero(counts > 1).tolist()),
      ("missing", np.flatnonzero(counts == 0).tolist())) if vals]
  return ", ".join(problems) or None


def _as_ordering(ordering, num_dims=None, name="ordering", hint=""):
  order = np.asarray(ordering)
  d = order.size if num_dims is None else num_dims
  problem = _permutation_problem(order, d)
  if problem:
    raise ValueError(f"{name} must be a permutation of range({d}), got {order!r}: "
                     f"{problem}{hint}")
  return order.astype(np.int64)


# ------------------------------------------------------------ the registry

_ORDERINGS = {}  # name -> (fn, image)
_ALIASES = {}  # alias -> name


def _canonical(spec):
  """The registered name of `spec` (an alias resolves to its name)."""
  return _ALIASES.get(spec, spec)


def register_ordering(name, *, aliases=(), image=False):
  """Decorator: registers `fn(shape, seed) -> permutation` as ordering `name`.

  `fn` returns the dims of `shape` in generation order, as flat row-major
  indices (a permutation of range(prod(shape))); `seed` is the caller's seed
  (None when not given). With `image=True` it orders the pixels of an image:
  `fn` gets the grid (H, W) and returns a permutation of range(H * W), and
  the ordering accepts shapes (H, W) and (H, W, C) only, a pixel's C channels
  following each other in order. `aliases` are other names for it.
  `get_ordering` checks every result.
  """
  def register(fn):
    for key in (name,) + tuple(aliases):
      if key in _ORDERINGS or key in _ALIASES:
        raise ValueError(f"ordering name {key!r} is already registered; pick another name")
    _ORDERINGS[name] = (fn, image)
    _ALIASES.update({alias: name for alias in aliases})
    return fn
  return register


def ordering_names():
  """Every registered ordering name and alias, sorted."""
  return sorted(list(_ORDERINGS) + list(_ALIASES))


def is_image_ordering(spec):
  """True if `spec` names an ordering that needs an image shape (H, W[, C])."""
  return isinstance(spec, str) and _ORDERINGS.get(_canonical(spec), (0, False))[1]


def _as_shape(shape):
  if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
    positive_int(shape, "num_dims")
    return (int(shape),)
  ok = isinstance(shape, (tuple, list)) and shape and all(
      isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in shape)
  if not ok:
    raise ValueError(f"shape must be a positive int D or a non-empty tuple of positive ints, "
                     f"got {shape!r}")
  return tuple(int(s) for s in shape)


def image_shape_example(d):
  """An image shape with `d` pixels to suggest in messages: (s, s) if d = s * s."""
  s = math.isqrt(d)
  return f"({s}, {s})" if s * s == d else f"(H, W) with H * W = {d}"


def image_shape(shape, what):
  """(H, W, C) of an image shape (H, W) or (H, W, C); raises naming `what` otherwise."""
  if len(shape) not in (2, 3):
    example = image_shape_example(math.prod(shape))
    raise ValueError(
        f"{what} needs an image shape (H, W) or (H, W, C), got shape {shape}; pass the "
        f"shape of the image the dims are laid out on, e.g. {example}")
  return shape + (1,) * (3 - len(shape))


def get_ordering(spec, shape, seed=None):
  """A generation ordering, int [D]: flat row-major indices of `shape`.

  Args:
    spec: a registered name (`ordering_names()`: "raster" = "natural",
      "reversed", "random" (needs `seed`), "s_curve", "hilbert", "spiral",
      "zigzag", ...) or an explicit permutation of range(D).
    shape: the shape the D dims are laid out on, or an int D for shape (D,).
      Image orderings need (H, W) or (H, W, C).
    seed: passed to the ordering function ("random": the seed of
      `np.random.default_rng(seed).permutation(D)`).
  Raises:
    ValueError: for an unknown name or a sequence that is not a permutation
      of range(D) (the message lists the registered names), or an image
      ordering on a shape that is not (H, W) or (H, W, C).
  """
  shape = _as_shape(shape)
  d = math.prod(shape)
  names = ", ".join(ordering_names())
  if not isinstance(spec, str):
    return _as_ordering(spec, d, name="spec", hint=f"; or pass a registered ordering: {names}")
  if _canonical(spec) not in _ORDERINGS:
    raise ValueError(f"unknown ordering {spec!r} for shape {shape}: expected a registered "
                     f"name or a permutation of range({d}); registered orderings: {names}")
  fn, image = _ORDERINGS[_canonical(spec)]
  if not image:
    return _as_ordering(fn(shape, seed), d, name=f"ordering {spec!r}")
  h, w, c = image_shape(shape, f"ordering {spec!r} (it orders the pixels of an image)")
  pixels = _as_ordering(fn((h, w), seed), h * w, name=f"ordering {spec!r}")
  return (pixels[:, None] * c + np.arange(c)).ravel()


@register_ordering("raster", aliases=("natural",))
def _raster(shape, seed):
  del seed
  return np.arange(math.prod(shape))


@register_ordering("reversed")
def _reversed(shape, seed):
  del seed
  return np.arange(math.prod(shape))[::-1].copy()


@register_ordering("random")
def _random(shape, seed):
  if seed is None:
    raise ValueError("get_ordering: spec='random' needs a seed, got seed=None")
  return np.random.default_rng(seed).permutation(math.prod(shape))


def positions(ordering):
  """Inverse permutation: pos[d] = index of dim d in `ordering`, int [D]."""
  order = _as_ordering(ordering)
  pos = np.empty_like(order)
  pos[order] = np.arange(order.size)
  return pos


def input_degrees(ordering):
  """MADE degree of every input dim: its position in `ordering` + 1, int [D]."""
  return positions(ordering) + 1


def hidden_degrees(num_units, num_inputs, *, method="random", seed=None, min_degree=1):
  """Degrees of one hidden layer, int [H], all in [min_degree, D - 1].

  Args:
    num_units: H >= 1.
    num_inputs: D >= 2 (with one dim there is nothing to condition on).
    method: "random" (uniform, as in MADE; needs `seed`, anything
      `np.random.default_rng` takes, or a `np.random.Generator`) or "even"
      (deterministic, evenly spread: rounded `linspace(min_degree, D - 1, H)`,
      so both ends are always used).
    min_degree: lowest allowed degree; MADE uses the previous layer's minimum.
  """
  if not isinstance(num_units, (int, np.integer)) or num_units < 1:
    raise ValueError(f"num_units must be a positive int, got {num_units!r}")
  if not isinstance(num_inputs, (int, np.integer)) or num_inputs < 2:
    raise ValueError(
        f"num_inputs must be an int >= 2 for hidden degrees in [1, D-1], got {num_inputs!r}")
  if not 1 <= min_degree <= num_inputs - 1:
    raise ValueError(f"min_degree must be in [1, {num_inputs - 1}], got {min_degree!r}")
  if method == "random":
    if seed is None:
      raise ValueError("hidden_degrees: method='random' needs a seed, got seed=None")
    return np.random.default_rng(seed).integers(min_degree, num_inputs, size=num_units)
  if method == "even":
    return np.round(np.linspace(min_degree, num_inputs - 1, num_units)).astype(np.int64)
  raise ValueError(f"method must be 'random' or 'even', got {method!r}")


def chained_hidden_degrees(hidden_sizes, num_dims, *, method="random", seed=None):
  """Degrees of a MADE hidden stack, one int array per layer.

  Layer l draws with `min_degree` = the minimum degree of layer l - 1 (the
  MADE paper), so every unit has at least one input. With method="random"
  all layers are drawn in turn from one `np.random.default_rng(seed)`.
  """
  rng = np.random.default_rng(seed) if method == "random" and seed is not None else seed
  degrees, low = [], 1
  for h in hidden_sizes:
    # Hidden degrees never reach D, so low <= D - 1 after the first layer.
    degrees.append(hidden_degrees(h, num_dims, method=method, seed=rng, min_degree=low))
    low = int(degrees[-1].min())
  return degrees


def _frozen(a):
  a.flags.writeable = False
  return a


def _spec_key(spec):
  # lru_cache needs hashable arguments; explicit orderings become tuples.
  return spec if isinstance(spec, str) else tuple(int(d) for d in np.asarray(spec).ravel())


def ordering_pool(spec, shape, num_orderings, seed):
  """M orderings, int [M, D] (read-only): entry 0 from `spec`, the rest random.

  `shape` is as in `get_ordering` (an int D or the shape the dims are laid
  out on). See the module docstring for the seeding convention.
  """
  positive_int(num_orderings, "num_orderings")
  return _ordering_pool(_spec_key(spec), _as_shape(shape), int(num_orderings), seed)


@functools.lru_cache(maxsize=64)
def _ordering_pool(spec, shape, num_orderings, seed):
  first = get_ordering(spec, shape, seed=seed)
  num_dims = math.prod(shape)
  rest = []
  if num_orderings > 1:  # (a lone entry 0 needs no seed unless it is "random")
    rng = np.random.default_rng([seed, 1])
    rest = [rng.permutation(num_dims) for _ in range(num_orderings - 1)]
  return _frozen(np.stack([first] + rest))


def made_pool_v0(spec, shape, hidden_sizes, num_masks, *, seed, method="random",
                 order_agnostic=False, connectivity_agnostic=False):
  """The MADE model's mask pool as degrees: `(orders [M, D], degrees)`.

  `shape` is as in `get_ordering`, with D = prod(shape) dims. `degrees` is a
  tuple of one int [M, H_l] array per hidden layer. One generator
  `g = np.random.default_rng(seed)` is read in entry order. Entry 0 takes
  `get_ordering(spec, shape, seed)`, entries m >= 1 a `g.permutation(D)` if
  `order_agnostic` (else entry 0's ordering). Entry 0, and with
  `connectivity_agnostic` every entry, then reads one seed
  `int(g.integers(2**31))` per hidden layer and draws that layer with
  `hidden_degrees(..., seed=that seed)`, min-degree chained; other entries
  reuse entry 0's degrees. MADE configs and checkpoints depend on these
  exact draws. Results are cached and read-only.
  """
  positive_int(num_masks, "num_masks")
  return _made_pool_v0(_spec_key(spec), _as_shape(shape), tuple(hidden_sizes), int(num_masks),
                       seed, method, bool(order_agnostic), bool(connectivity_agnostic))


@functools.lru_cache(maxsize=16)
def _made_pool_v0(spec, shape, hidden_sizes, num_masks, seed, method, order_agnostic,
                  connectivity_agnostic):
  num_dims = math.prod(shape)
  rng = np.random.default_rng(seed)
  orders, hidden = [], []
  for i in range(num_masks):
    orders.append(rng.permutation(num_dims) if (order_agnostic and i > 0)
                  else get_ordering(spec, shape, seed=seed))
    if i == 0 or connectivity_agnostic:
      degs, low = [], 1
      for h in hidden_sizes:
        # The seed is drawn even for method="even", which ignores it.
        degs.append(hidden_degrees(h, num_dims, method=method,
                                   seed=int(rng.integers(2**31)), min_degree=low))
        low = int(degs[-1].min())
    hidden.append(degs)
  degrees = tuple(_frozen(np.stack([hd[layer] for hd in hidden]))
                  for layer in range(len(hidden_sizes)))
  return _frozen(np.stack(orders)), degrees

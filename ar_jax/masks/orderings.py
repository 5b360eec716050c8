"""Orderings, MADE degrees and pools of them: the one place randomness is drawn.

An *ordering* is a permutation of range(D) listing the dims in generation
order; the *position* of dim d is its index in the ordering (0-based) and its
MADE *degree* is position + 1 (1..D). Hidden degrees lie in [1, D - 1].

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

import numpy as np


def positive_int(value, name):
  """Raises unless `value` is an int >= 1 (bools are not counts)."""
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{name} must be a positive int, got {value!r}")


def _as_ordering(ordering, num_dims=None, name="ordering"):
  order = np.asarray(ordering)
  d = order.size if num_dims is None else num_dims
  ok = order.ndim == 1 and order.shape[0] == d and (
      d == 0 or np.issubdtype(order.dtype, np.integer))
  if not ok or not np.array_equal(np.sort(order), np.arange(d)):
    raise ValueError(f"{name} must be a permutation of range({d}), got {order!r}")
  return order.astype(np.int64)


def get_ordering(spec, num_dims, seed=None):
  """Returns a generation ordering, int [D].

  Args:
    spec: "natural", "reversed", "random" (needs `seed`) or an explicit
      sequence, validated as a permutation of range(num_dims).
    num_dims: D >= 1.
    seed: int seed for "random" (`np.random.default_rng(seed).permutation`).
  """
  if not isinstance(num_dims, (int, np.integer)) or num_dims < 1:
    raise ValueError(f"num_dims must be a positive int, got {num_dims!r}")
  if isinstance(spec, str):
    if spec == "natural":
      return np.arange(num_dims)
    if spec == "reversed":
      return np.arange(num_dims)[::-1].copy()
    if spec == "random":
      if seed is None:
        raise ValueError("get_ordering: spec='random' needs a seed, got seed=None")
      return np.random.default_rng(seed).permutation(num_dims)
    raise ValueError(
        f"spec must be 'natural', 'reversed', 'random' or a permutation, got {spec!r}")
  return _as_ordering(spec, num_dims, name="spec")


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


def ordering_pool(spec, num_dims, num_orderings, seed):
  """M orderings, int [M, D] (read-only): entry 0 from `spec`, the rest random.

  See the module docstring for the seeding convention.
  """
  positive_int(num_orderings, "num_orderings")
  return _ordering_pool(_spec_key(spec), int(num_dims), int(num_orderings), seed)


@functools.lru_cache(maxsize=64)
def _ordering_pool(spec, num_dims, num_orderings, seed):
  first = get_ordering(spec, num_dims, seed=seed)
  rest = []
  if num_orderings > 1:  # (a lone entry 0 needs no seed unless it is "random")
    rng = np.random.default_rng([seed, 1])
    rest = [rng.permutation(num_dims) for _ in range(num_orderings - 1)]
  return _frozen(np.stack([first] + rest))


def made_pool_v0(spec, num_dims, hidden_sizes, num_masks, *, seed, method="random",
                 order_agnostic=False, connectivity_agnostic=False):
  """The MADE model's mask pool as degrees: `(orders [M, D], degrees)`.

  `degrees` is a tuple of one int [M, H_l] array per hidden layer. One
  generator `g = np.random.default_rng(seed)` is read in entry order. Entry 0
  takes `get_ordering(spec, D, seed)`, entries m >= 1 a `g.permutation(D)` if
  `order_agnostic` (else entry 0's ordering). Entry 0, and with
  `connectivity_agnostic` every entry, then reads one seed
  `int(g.integers(2**31))` per hidden layer and draws that layer with
  `hidden_degrees(..., seed=that seed)`, min-degree chained; other entries
  reuse entry 0's degrees. MADE configs and checkpoints depend on these
  exact draws. Results are cached and read-only.
  """
  positive_int(num_masks, "num_masks")
  return _made_pool_v0(_spec_key(spec), int(num_dims), tuple(hidden_sizes), int(num_masks),
                       seed, method, bool(order_agnostic), bool(connectivity_agnostic))


@functools.lru_cache(maxsize=16)
def _made_pool_v0(spec, num_dims, hidden_sizes, num_masks, seed, method, order_agnostic,
                  connectivity_agnostic):
  rng = np.random.default_rng(seed)
  orders, hidden = [], []
  for i in range(num_masks):
    orders.append(rng.permutation(num_dims) if (order_agnostic and i > 0)
                  else get_ordering(spec, num_dims, seed=seed))
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

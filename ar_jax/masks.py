"""Autoregressive connectivity masks, as plain numpy data.

Every function here is pure and deterministic given its arguments (and `seed`
where random): it returns a numpy array (bool or float32) that a layer applies
as a weight multiplier, `kernel * mask`. Masks are never parameters.

Conventions:
- An *ordering* is a permutation of range(D) listing the dims in generation
  order; the *position* of dim d is its index in the ordering (0-based).
- The MADE *degree* of input dim d is its position + 1 (1..D). A hidden unit of
  degree m may see inputs of degree <= m; an output of degree m only < m.
- Multi-feature dims: input features are flattened from [D, K] (feature d*K + k
  has dim d), outputs from [D, P] (unit d*P + p has dim d).
- A dense mask is [IN, OUT]: entry [i, o] lets input i reach output o.

`check_autoregressive` verifies any stack of dense masks; conv masks are
checked by unrolling them on a small image (`check_conv_autoregressive`).
"""

from typing import NamedTuple, Optional

import numpy as np


class AutoregressiveError(ValueError):
  """A mask stack lets an output see a dim that is not before it."""


# ---------------------------------------------------------------- orderings


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


# ------------------------------------------------------------------- MADE


def hidden_degrees(num_units, num_inputs, *, method="random", seed=None, min_degree=1):
  """Degrees of one hidden layer, int [H], all in [min_degree, D - 1].

  Args:
    num_units: H >= 1.
    num_inputs: D >= 2 (with one dim there is nothing to condition on).
    method: "random" (uniform, as in MADE; needs `seed`, an int or a
      `np.random.Generator`) or "even" (deterministic, evenly spread: rounded
      `linspace(min_degree, D - 1, H)`, so both ends are always used).
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


def _deg(degrees):
  # numpy and jax arrays pass through, so MADE can rebuild masks from traced
  # degrees inside jit (a mask pool picked by a traced index).
  return degrees if hasattr(degrees, "ndim") else np.asarray(degrees)


def hidden_mask(in_degrees, out_degrees):
  """bool [IN, OUT]: True iff out_degree >= in_degree (input/hidden -> hidden)."""
  return _deg(in_degrees)[:, None] <= _deg(out_degrees)[None, :]


def output_mask(in_degrees, out_degrees):
  """bool [IN, OUT]: True iff out_degree > in_degree (anything -> output)."""
  return _deg(in_degrees)[:, None] < _deg(out_degrees)[None, :]


class MadeMasks(NamedTuple):
  """Masks of one MADE network (all bool).

  hidden: per hidden layer, [D*input_features, H1], [H1, H2], ...
  output: [H_last, D*output_params] ([D*input_features, ...] with no hidden).
  direct: [D*input_features, D*output_params] input->output skip, or None.
  input_degrees: [D], position + 1 of every dim.
  """
  hidden: list
  output: np.ndarray
  direct: Optional[np.ndarray]
  input_degrees: np.ndarray


def _check_count(value, name):
  if not isinstance(value, (int, np.integer)) or value < 1:
    raise ValueError(f"{name} must be a positive int, got {value!r}")


def made_masks(ordering, hidden_sizes, *, hidden="random", seed=0, input_features=1,
               output_params=1, direct=False):
  """Builds the masks of a MADE for one ordering.

  Each hidden layer's degrees are drawn with `min_degree` = the minimum degree
  of the previous layer (MADE paper), so every unit has at least one input.

  Args:
    ordering: permutation of range(D).
    hidden_sizes: sequence of hidden layer widths; () maps inputs to outputs.
    hidden: "random" or "even", see `hidden_degrees`.
    seed: int seed for random degrees.
    input_features: K features per input dim (e.g. one-hot classes).
    output_params: P output units per dim.
    direct: also build an input->output skip mask.
  Returns:
    A `MadeMasks`.
  """
  deg = input_degrees(ordering)
  _check_count(input_features, "input_features")
  _check_count(output_params, "output_params")
  for h in hidden_sizes:
    _check_count(h, f"hidden_sizes entry (in {tuple(hidden_sizes)!r})")
  if hidden not in ("random", "even"):
    raise ValueError(f"hidden must be 'random' or 'even', got {hidden!r}")
  if hidden_sizes and deg.size < 2:
    raise ValueError(f"made_masks: hidden layers need an ordering of >= 2 dims, got "
                     f"{deg.size} (use hidden_sizes=() for a single dim)")
  rng = np.random.default_rng(seed) if hidden == "random" else None
  prev = np.repeat(deg, input_features)
  in_deg = prev
  hidden_masks = []
  for h in hidden_sizes:
    # Hidden degrees never reach D, so min(prev) <= D - 1 after the first layer.
    m = hidden_degrees(h, deg.size, method=hidden, seed=rng, min_degree=int(prev.min()))
    hidden_masks.append(hidden_mask(prev, m))
    prev = m
  out_deg = np.repeat(deg, output_params)
  return MadeMasks(
      hidden=hidden_masks,
      output=output_mask(prev, out_deg),
      direct=output_mask(in_deg, out_deg) if direct else None,
      input_degrees=deg)


def made_mask_pool(num_dims, hidden_sizes, num_masks, *, order_agnostic=True,
                   connectivity_agnostic=True, hidden="random", seed=0,
                   input_features=1, output_params=1, direct=False):
  """`num_masks` MADE mask sets for ensembles / order-agnostic training.

  Args:
    num_dims: D.
    hidden_sizes, hidden, input_features, output_params, direct: as `made_masks`.
    num_masks: M >= 1.
    order_agnostic: every mask gets a random ordering; if False all masks use
      the natural ordering.
    connectivity_agnostic: every mask draws fresh hidden degrees; if False all
      share mask 0's degrees (degrees are positions, so sharing them across
      orderings is valid).
    seed: int; the pool is a deterministic function of it.
  Returns:
    A list of M `MadeMasks`.
  """
  _check_count(num_masks, "num_masks")
  order_rng = np.random.default_rng([seed, 0])
  pool = []
  for m in range(num_masks):
    order = order_rng.permutation(num_dims) if order_agnostic else np.arange(num_dims)
    layer_seed = [seed, 1, m if connectivity_agnostic else 0]
    pool.append(made_masks(order, hidden_sizes, hidden=hidden, seed=layer_seed,
                           input_features=input_features, output_params=output_params,
                           direct=direct))
  return pool


def stack_made_masks(pool):
  """Stacks a list of `MadeMasks` along a new leading [M] axis."""
  if not pool:
    raise ValueError("stack_made_masks: pool must be a non-empty list of MadeMasks")
  shapes = {(tuple(p.output.shape), tuple(h.shape for h in p.hidden),
             None if p.direct is None else p.direct.shape) for p in pool}
  if len(shapes) != 1:
    raise ValueError(f"stack_made_masks: all masks must have the same shapes, got {shapes}")
  return MadeMasks(
      hidden=[np.stack([p.hidden[i] for p in pool]) for i in range(len(pool[0].hidden))],
      output=np.stack([p.output for p in pool]),
      direct=None if pool[0].direct is None else np.stack([p.direct for p in pool]),
      input_degrees=np.stack([p.input_degrees for p in pool]))


def triangular_mask(ordering):
  """bool [D, D]: [j, i] True iff dim j is strictly before dim i (FVSBN, NADE)."""
  pos = positions(ordering)
  return pos[:, None] < pos[None, :]


# ------------------------------------------------------------- 1-D / sequence


def causal_conv1d_padding(kernel_size, dilation=1):
  """(left, right) padding that makes a dilated 1-D conv causal."""
  _check_count(kernel_size, "kernel_size")
  _check_count(dilation, "dilation")
  return ((kernel_size - 1) * dilation, 0)


def causal_conv1d_mask(kernel_size, exclusive=False):
  """float32 [k] mask for a *centred* odd kernel (SAME padding).

  Tap j has offset j - k//2; it is kept iff offset <= 0 (< 0 if `exclusive`).
  Broadcast as `mask[:, None, None]` over a [k, Cin, Cout] kernel. (Left
  padding, `causal_conv1d_padding`, is the cheaper alternative.)
  """
  _check_count(kernel_size, "kernel_size")
  if kernel_size % 2 == 0:
    raise ValueError(f"kernel_size must be odd for a centred mask, got {kernel_size}")
  offset = np.arange(kernel_size) - kernel_size // 2
  return (offset < 0 if exclusive else offset <= 0).astype(np.float32)


def causal_attention_mask(length, exclusive=False):
  """bool [T, T]: [t, s] True iff s <= t (s < t if `exclusive`).

  With `exclusive`, row 0 is all False: a softmax over it is undefined, so the
  caller must give step 0 something to attend to (e.g. a start token).
  """
  _check_count(length, "length")
  t = np.arange(length)
  return t[None, :] < t[:, None] if exclusive else t[None, :] <= t[:, None]


# ------------------------------------------------------------- checking


def connectivity(masks, direct=None):
  """bool [IN, OUT]: which inputs reach which outputs through a dense stack.

  Args:
    masks: list of [IN, H1], [H1, H2], ..., [H_last, OUT] masks (nonzero =
      connected), applied in sequence.
    direct: optional [IN, OUT] skip mask, OR-ed in.
  """
  masks = _as_mask_stack(masks, direct)
  conn = masks[0]
  for m in masks[1:]:
    # float matmul of 0/1 values: a sum of nonnegatives is > 0 iff a path exists.
    conn = (conn.astype(np.float32) @ m.astype(np.float32)) > 0
  if direct is not None:
    conn = conn | (np.asarray(direct) != 0)
  return conn


def _as_mask_stack(masks, direct):
  if isinstance(masks, np.ndarray) or not masks:
    raise ValueError("masks must be a non-empty list of 2-D [IN, OUT] masks")
  masks = [np.asarray(m) != 0 for m in masks]
  for i, m in enumerate(masks):
    if m.ndim != 2:
      raise ValueError(f"masks[{i}] must be 2-D [IN, OUT], got shape {m.shape}")
    if i and m.shape[0] != masks[i - 1].shape[1]:
      raise ValueError(
          f"masks[{i}] has {m.shape[0]} inputs but masks[{i - 1}] has "
          f"{masks[i - 1].shape[1]} outputs (shapes {masks[i - 1].shape}, {m.shape})")
  want = (masks[0].shape[0], masks[-1].shape[1])
  if direct is not None and np.shape(direct) != want:
    raise ValueError(f"direct must have shape [IN, OUT] = {want}, got {np.shape(direct)}")
  return masks


def _witness_path(masks, f, o):
  """Hidden units (one per hidden layer) of one path f -> o, or None."""
  # back[l]: units of hidden layer l+1 from which output o is reachable.
  back = [masks[-1][:, o]]
  for m in reversed(masks[1:-1]):
    back.insert(0, (m.astype(np.float32) @ back[0].astype(np.float32)) > 0)
  path, frontier = [], masks[0][f]
  for layer, b in enumerate(back[:len(masks) - 1]):
    candidates = np.flatnonzero(frontier & b)
    if candidates.size == 0:
      return None
    path.append(int(candidates[0]))
    if layer + 1 < len(masks) - 1:
      frontier = masks[layer + 1][path[-1]]
  return path if len(masks) > 1 or masks[0][f, o] else None


def check_autoregressive(masks, *, in_dims, out_dims, ordering, direct=None, max_report=10,
                         dim_names=None):
  """Raises `AutoregressiveError` unless every output sees only earlier dims.

  Args:
    masks: list of dense [IN, OUT] masks applied in sequence (see `connectivity`).
    in_dims: int [IN], data dim of every input feature.
    out_dims: int [OUT], data dim of every output unit.
    ordering: permutation of range(D).
    direct: optional [IN, OUT] skip mask.
    max_report: how many offending connections to spell out.
    dim_names: optional D strings used for dims in the message (e.g. pixels).
  """
  stack = _as_mask_stack(masks, direct)
  pos = positions(ordering)
  dim_str = (lambda d: f"dim {d}") if dim_names is None else (lambda d: dim_names[d])
  in_dims, out_dims = np.asarray(in_dims), np.asarray(out_dims)
  for name, dims, n in (("in_dims", in_dims, stack[0].shape[0]),
                        ("out_dims", out_dims, stack[-1].shape[1])):
    if dims.shape != (n,) or (n and (dims.min() < 0 or dims.max() >= pos.size)):
      raise ValueError(
          f"{name} must be {n} ints in [0, {pos.size}), got shape {dims.shape}")
  allowed = pos[in_dims][:, None] < pos[out_dims][None, :]
  bad = connectivity(stack, direct) & ~allowed
  if not bad.any():
    return
  lines = []
  for o, f in np.argwhere(bad.T)[:max_report]:  # grouped by output unit
    routes = []
    path = _witness_path(stack, f, o)
    if path:
      routes.append("via " + ", ".join(
          f"hidden unit {u} of layer {l + 1}" for l, u in enumerate(path)))
    elif path is not None:
      routes.append("directly through masks[0]")
    if direct is not None and np.asarray(direct)[f, o]:
      routes.append("via the direct mask")
    lines.append(
        f"  output unit {o} ({dim_str(out_dims[o])}, position {pos[out_dims[o]]}) sees input "
        f"feature {f} ({dim_str(in_dims[f])}, position {pos[in_dims[f]]}) " + " and ".join(routes))
  total = int(bad.sum())
  more = f"\n  ... and {total - len(lines)} more" if total > len(lines) else ""
  raise AutoregressiveError(
      f"mask stack is not autoregressive: {total} forbidden connection(s) "
      "(an output may only see dims strictly earlier in the ordering):\n"
      + "\n".join(lines) + more)


# ------------------------------------------------------------- conv masks

# Re-exported so that `ar_jax.masks` is the one place to look for masks.
from ar_jax.conv_masks import (  # pylint: disable=wrong-import-position,g-import-not-at-top
    check_conv_autoregressive, conv_mask, horizontal_stack_mask, image_feature_dims,
    unroll_conv_mask, vertical_stack_mask)

__all__ = [
    "AutoregressiveError", "MadeMasks", "causal_attention_mask", "causal_conv1d_mask",
    "causal_conv1d_padding", "check_autoregressive", "check_conv_autoregressive",
    "connectivity", "conv_mask", "get_ordering", "hidden_degrees", "hidden_mask",
    "horizontal_stack_mask", "image_feature_dims", "input_degrees", "made_mask_pool",
    "made_masks", "output_mask", "positions", "stack_made_masks", "triangular_mask",
    "unroll_conv_mask", "vertical_stack_mask",
]

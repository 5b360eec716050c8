"""Dense autoregressive masks: MADE (from degrees) and triangular.

A dense mask is bool [IN, OUT]: entry [i, o] lets input i reach output o.
Multi-feature dims: input features are flattened from [D, K] (feature d*K + k
has dim d), outputs from [D, P] (unit d*P + p has dim d).
"""

from typing import NamedTuple, Optional

import numpy as np

from ar_jax.masks import orderings
from ar_jax.masks.orderings import positive_int


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


def _check_made_args(num_dims, hidden_sizes, hidden, input_features, output_params):
  positive_int(input_features, "input_features")
  positive_int(output_params, "output_params")
  for h in hidden_sizes:
    positive_int(h, f"hidden_sizes entry (in {tuple(hidden_sizes)!r})")
  if hidden not in ("random", "even"):
    raise ValueError(f"hidden must be 'random' or 'even', got {hidden!r}")
  if hidden_sizes and num_dims < 2:
    raise ValueError(f"made_masks: hidden layers need an ordering of >= 2 dims, got "
                     f"{num_dims} (use hidden_sizes=() for a single dim)")


def masks_from_degrees(input_degrees_D, hidden_degrees, *, input_features=1,
                       output_params=1, direct=False):
  """`MadeMasks` of one MADE from its degrees (input [D], one array per layer)."""
  deg = np.asarray(input_degrees_D)
  prev = in_deg = np.repeat(deg, input_features)
  hidden_masks = []
  for m in hidden_degrees:
    hidden_masks.append(hidden_mask(prev, m))
    prev = m
  out_deg = np.repeat(deg, output_params)
  return MadeMasks(
      hidden=hidden_masks,
      output=output_mask(prev, out_deg),
      direct=output_mask(in_deg, out_deg) if direct else None,
      input_degrees=deg)


def made_masks(ordering, hidden_sizes, *, hidden="random", seed=0, input_features=1,
               output_params=1, direct=False):
  """Builds the masks of a MADE for one ordering.

  Each hidden layer's degrees are drawn with `min_degree` = the minimum degree
  of the previous layer (MADE paper), so every unit has at least one input.

  Args:
    ordering: permutation of range(D).
    hidden_sizes: sequence of hidden layer widths; () maps inputs to outputs.
    hidden: "random" or "even", see `hidden_degrees`.
    seed: seed of the random degrees; all layers are drawn in turn from
      `np.random.default_rng(seed)` (`orderings.chained_hidden_degrees`).
    input_features: K features per input dim (e.g. one-hot classes).
    output_params: P output units per dim.
    direct: also build an input->output skip mask.
  Returns:
    A `MadeMasks`.
  """
  deg = orderings.input_degrees(ordering)
  _check_made_args(deg.size, hidden_sizes, hidden, input_features, output_params)
  degrees = orderings.chained_hidden_degrees(hidden_sizes, deg.size, method=hidden, seed=seed)
  return masks_from_degrees(deg, degrees, input_features=input_features,
                            output_params=output_params, direct=direct)


def triangular_mask(ordering):
  """bool [D, D]: [j, i] True iff dim j is strictly before dim i (FVSBN, NADE)."""
  pos = orderings.positions(ordering)
  return pos[:, None] < pos[None, :]


class DegreeGroups(NamedTuple):
  """Units grouped by degree, for code that visits them one degree at a time.

  For pool entry m and degree t, the units of degree t are
  `units[m, start[m, t] : start[m, t] + count[m, t]]`. `units` is padded with
  `width` trailing zeros, so a fixed-size slice `units[m, s : s + width]`
  never runs off the end (a slice that would is not shifted back, as
  `lax.dynamic_slice` would do); entries past `count` are to be ignored.

  units: int32 [M, H + width], each row a stable argsort of the degrees.
  start, count: int32 [M, max_degree + 1].
  width: the largest count (>= 1).
  """
  units: np.ndarray
  start: np.ndarray
  count: np.ndarray
  width: int


def degree_groups(degrees_MxH, max_degree):
  """`DegreeGroups` of integer degrees [M, H] in [0, max_degree]."""
  deg = np.asarray(degrees_MxH)
  order = np.argsort(deg, axis=1, kind="stable")
  sorted_deg = np.take_along_axis(deg, order, axis=1)
  t = np.arange(max_degree + 1)
  lo = np.stack([np.searchsorted(row, t, side="left") for row in sorted_deg])
  hi = np.stack([np.searchsorted(row, t, side="right") for row in sorted_deg])
  count = hi - lo
  width = max(1, int(count.max()))
  units = np.concatenate([order, np.zeros((deg.shape[0], width), order.dtype)], axis=1)
  return DegreeGroups(units.astype(np.int32), lo.astype(np.int32), count.astype(np.int32),
                      width)

"""Checks that a stack of dense masks is autoregressive, naming any leak.

`check_autoregressive` multiplies the masks as boolean matrices; conv masks
are checked by unrolling them on a small image
(`ar_jax.masks.conv.check_conv_autoregressive`).
"""

import numpy as np

from ar_jax.masks import orderings


class AutoregressiveError(ValueError):
  """A mask stack lets an output see a dim that is not before it."""


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
  pos = orderings.positions(ordering)
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

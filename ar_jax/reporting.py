"""What a run writes: metrics.jsonl, TensorBoard events, sample grids, results.json.

Only process 0 writes; on the others every writer here is a no-op, so callers
need no `if process_index == 0` of their own. Workdirs may be local or remote
(`gs://...`, through etils.epath): local files are replaced atomically;
remote objects cannot be appended to, so metrics.jsonl is rewritten whole.
"""

import io
import json
import math
import os

from etils import epath
import jax
import numpy as np


def is_remote(path):
  return "://" in str(path)


def is_writer():
  return jax.process_index() == 0


class MetricWriter:
  """Appends `{"step": s, "split": ..., **scalars}` lines and TensorBoard scalars.

  `resume_step` makes metrics.jsonl hold each (step, split) once however often
  a run resumes: on opening, rows logged after that step (by a run that died
  before its next checkpoint), rows of `final_splits` at that step (the final
  test pass is repeated), and a torn last line are dropped.
  """

  def __init__(self, workdir, enabled=None, resume_step=None, final_splits=()):
    self.enabled = is_writer() if enabled is None else enabled
    self._tb = None
    self._jsonl = self._lines = None
    if self.enabled:
      path = epath.Path(workdir) / "metrics.jsonl"
      path.parent.mkdir(parents=True, exist_ok=True)
      lines = path.read_text().splitlines(keepends=True) if path.exists() else []
      if resume_step is not None:
        kept = _rows_before(lines, resume_step, final_splits)
        if kept != lines:
          write_bytes(str(path), "".join(kept).encode())
        lines = kept
      if is_remote(workdir):
        self._path = path
        self._lines = lines
      else:
        self._jsonl = open(path, "a", encoding="utf-8")
      try:
        from tensorboardX import SummaryWriter  # pylint: disable=import-outside-toplevel
        self._tb = SummaryWriter(os.path.join(str(workdir), "tensorboard"))
      except Exception:  # pylint: disable=broad-exception-caught
        pass  # metrics.jsonl is the source of truth; TensorBoard is optional.

  def write(self, step, split, scalars):
    if not self.enabled:
      return
    row = {"step": int(step), "split": split}
    row.update({k: _py(v) for k, v in scalars.items()})
    if self._jsonl is not None:
      self._jsonl.write(json.dumps(row) + "\n")
      self._jsonl.flush()
    else:
      self._lines.append(json.dumps(row) + "\n")
      self._path.write_text("".join(self._lines))
    if self._tb is not None:
      for k, v in scalars.items():
        if isinstance(_py(v), (int, float)):
          self._tb.add_scalar(f"{split}/{k}", _py(v), int(step))

  def close(self):
    if self.enabled:
      if self._jsonl is not None:
        self._jsonl.close()
      if self._tb is not None:
        self._tb.close()


def _rows_before(lines, step, final_splits):
  kept = []
  for line in lines:
    try:
      row = json.loads(line)
    except ValueError:
      continue  # A line torn by a crash.
    if row["step"] < step or (row["step"] == step and row["split"] not in final_splits):
      kept.append(line if line.endswith("\n") else line + "\n")
  return kept


def _py(v):
  v = np.asarray(v).item() if isinstance(v, (np.ndarray, np.generic, jax.Array)) else v
  return v


def image_shape(model_shape, data_shape):
  """How to draw one sample: the data's image shape when it has one."""
  if len(data_shape) in (2, 3) and math.prod(data_shape) == math.prod(model_shape):
    return tuple(data_shape) if len(data_shape) == 3 else tuple(data_shape) + (1,)
  return (1, math.prod(model_shape), 1)  # Vector data: one row of pixels.


def image_grid(samples, shape_HxWxC, num_classes, pad=1, cols=None):
  """uint8 grid image `[rows*(H+pad)+pad, cols*(W+pad)+pad, C]` of N samples.

  Discrete values 0..num_classes-1 map to 0..255; real values (`num_classes`
  None) are scaled from the grid's min..max. `cols` defaults to a square grid.
  """
  n = samples.shape[0]
  h, w, c = shape_HxWxC
  x = np.asarray(samples, np.float64).reshape(n, h, w, c)
  if num_classes is None:
    lo, hi = (np.nanmin(x), np.nanmax(x)) if x.size else (0.0, 1.0)
    x = (x - lo) * (255.0 / max(hi - lo, 1e-12))
  else:
    x = x * (255.0 / (num_classes - 1))
  x = np.clip(x, 0, 255).astype(np.uint8)
  cols = cols or math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 128, np.uint8)
  for i in range(n):
    r, q = divmod(i, cols)
    grid[pad + r * (h + pad):pad + r * (h + pad) + h,
         pad + q * (w + pad):pad + q * (w + pad) + w] = x[i]
  return grid


def write_bytes(path, data):
  """Writes `data` to `path` atomically (tmp file + rename) locally; whole objects remotely."""
  if is_remote(path):
    epath.Path(path).write_bytes(data)  # Object stores write whole objects.
    return
  tmp = f"{path}.tmp"
  with open(tmp, "wb") as f:
    f.write(data)
  os.replace(tmp, path)  # Readers never see a half-written file.


def save_png(path, grid):
  if not is_writer():
    return
  from PIL import Image  # pylint: disable=import-outside-toplevel
  buf = io.BytesIO()
  Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(buf, format="PNG")
  write_bytes(path, buf.getvalue())


def write_json(path, obj):
  if not is_writer():
    return
  write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())

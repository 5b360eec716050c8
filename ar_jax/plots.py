r"""Figures of training runs and audio, drawn with matplotlib (the `plots` extra).

  ar-jax plot --workdir=runs/made                  # -> runs/made/curves.png
  ar-jax plot --workdir=runs/a --workdir=runs/b --out=ab.png   # one figure, both runs

- `write_curves(workdir)` writes `workdir/curves.png`: train and validation NLL
  against training step, read from the run's metrics.jsonl (`train.py` calls
  it at the end of every run).
- `plot_table_curves(workdirs, out)` draws several runs in one figure.
- `plot_spectrogram(wave, sample_rate, out)` draws time (s) by frequency (Hz)
  with a colour bar in dB re full scale.

matplotlib is an optional dependency, imported inside the functions that draw:
without it they log how to install the extra and return None. Figures are
`matplotlib.figure.Figure` objects rendered by the Agg canvas, never pyplot,
so no global figure list, backend or style is created or changed.
"""

import argparse
import dataclasses
import io
import json
import math
import os

from absl import logging
from etils import epath
import numpy as np

from ar_jax import audio
from ar_jax import reporting

INSTALL_HINT = 'pip install -e ".[plots]"'


def figure_class(what):
  """matplotlib's Figure class, or None after one log line if it is not installed."""
  try:
    from matplotlib.figure import Figure  # pylint: disable=import-outside-toplevel
  except ImportError:  # Optional dependency (the `plots` extra).
    logging.warning("matplotlib is not installed, so no %s is drawn; install it with %s",
                    what, INSTALL_HINT)
    return None
  return Figure


def save_figure(fig, out):
  """Renders `fig` with Agg to PNG bytes and writes them to `out` (local or remote)."""
  buf = io.BytesIO()
  fig.savefig(buf, format="png")
  epath.Path(out).parent.mkdir(parents=True, exist_ok=True)
  reporting.write_bytes(str(out), buf.getvalue())
  return str(out)


# ---- training curves ----

@dataclasses.dataclass(frozen=True)
class Curves:
  """NLL of one run against training step, in the unit of its validation NLL.

  Train rows (split "train") hold `loss` in nats per training example and
  `bpd`; validation rows (the ones with the early-stopping field `best_nll`)
  hold `nll` and `bpd`; the final test row holds `nll` and `bpd` without
  `best_nll`. For stream data (text, audio) the validation NLL is per position
  while the train loss is per training window, so train values are put in
  the validation unit through their bits per dim: nats = bpd * nats_per_bit.
  """
  title: str
  unit: str  # y-axis unit of the nats values
  nats_per_bit: float  # nats / nats_per_bit = bits per dim
  train_steps: np.ndarray
  train_nats: np.ndarray
  eval_split: str | None
  eval_steps: np.ndarray
  eval_nats: np.ndarray
  test_split: str | None = None
  test_point: tuple | None = None  # (step, nats) of the final test NLL


def _read_json(path):
  path = epath.Path(path)
  return json.loads(path.read_text()) if path.exists() else None


def run_title(workdir):
  """"<model> on <data>" from the run's config.json (or results.json), else the dir name."""
  config = _read_json(epath.Path(workdir) / "config.json")
  if config is None:
    config = (_read_json(epath.Path(workdir) / "results.json") or {}).get("config")
  try:
    return f"{config['model']['name']} on {config['data']['name']}"
  except (KeyError, TypeError):
    return os.path.basename(os.path.normpath(str(workdir)))


def _run_label(workdir):
  """"<dir name> (<model> on <data>)", or the dir name when there is no config."""
  name, title = os.path.basename(os.path.normpath(str(workdir))), run_title(workdir)
  return name if title == name else f"{name} ({title})"


def _nats_per_bit(rows, key):
  """nats / bpd of rows (constant within a split); None if no row has bpd != 0."""
  for r in rows:
    if r.get("bpd"):
      return r[key] / r["bpd"]
  return None


def read_curves(workdir):
  """`Curves` of a run from `workdir/metrics.jsonl` (a resumed step's last row wins)."""
  path = epath.Path(workdir) / "metrics.jsonl"
  if not path.exists():
    raise FileNotFoundError(f"{path} not found: --workdir must be a training run's "
                            "directory (train.py writes metrics.jsonl there)")
  by_key = {}
  for n, line in enumerate(path.read_text().splitlines(), 1):
    if line.strip():
      try:
        row = json.loads(line)
      except json.JSONDecodeError as e:
        raise ValueError(f"{path} line {n} is not JSON ({e}): {line[:80]!r}") from None
      by_key[(row["split"], row["step"])] = row
  rows = [by_key[k] for k in sorted(by_key, key=lambda k: k[1])]
  train = [r for r in rows if r["split"] == "train" and "loss" in r]
  evals = [r for r in rows if r["split"] != "train" and "best_nll" in r]
  tests = [r for r in rows if r["split"] != "train" and "best_nll" not in r and "nll" in r]
  if not train and not evals:
    raise ValueError(f"{path} has no train or validation rows to plot")
  train_npb = _nats_per_bit(train, "loss")
  eval_npb = _nats_per_bit(evals, "nll")
  if eval_npb is None:  # No validation yet: train loss as written.
    npb, unit = train_npb or math.log(2.0), "nats per training example"
    train_nats = np.array([r["loss"] for r in train], np.float64)
  else:
    npb = eval_npb
    same = train_npb is None or math.isclose(train_npb, eval_npb, rel_tol=1e-4)
    unit = "nats per example" if same else "nats per position"
    train_nats = np.array([r["bpd"] * npb for r in train], np.float64)
  return Curves(
      title=run_title(workdir), unit=unit, nats_per_bit=npb,
      train_steps=np.array([r["step"] for r in train], np.int64), train_nats=train_nats,
      eval_split=evals[0]["split"] if evals else None,
      eval_steps=np.array([r["step"] for r in evals], np.int64),
      eval_nats=np.array([r["nll"] for r in evals], np.float64),
      test_split=tests[-1]["split"] if tests else None,
      test_point=(tests[-1]["step"], tests[-1]["nll"]) if tests else None)


def _bits_axis(ax, nats_per_bit, unit):
  label = "bits per position" if unit == "nats per position" else "bits per dim"
  sec = ax.secondary_yaxis("right", functions=(lambda y: y / nats_per_bit,
                                               lambda b: b * nats_per_bit))
  sec.set_ylabel(label)


def curves_figure(workdir):
  """The curves Figure of one run (None without matplotlib); lines are labelled by split."""
  figure = figure_class("curves.png")
  if figure is None:
    return None
  c = read_curves(workdir)
  fig = figure(figsize=(7.0, 4.2), dpi=120, layout="constrained")
  ax = fig.add_subplot()
  if len(c.train_steps):
    ax.plot(c.train_steps, c.train_nats, color="tab:blue", lw=1.0, alpha=0.8, label="train")
  if len(c.eval_steps):
    ax.plot(c.eval_steps, c.eval_nats, color="tab:orange", lw=1.5, marker="o", ms=3,
            label=c.eval_split)
  if c.test_point is not None:
    ax.plot([c.test_point[0]], [c.test_point[1]], color="tab:red", ls="none", marker="*",
            ms=10, label=f"{c.test_split} (final)")
  ax.set_xlabel("training step")
  ax.set_ylabel(f"NLL ({c.unit})")
  _bits_axis(ax, c.nats_per_bit, c.unit)
  ax.set_title(c.title)
  ax.grid(alpha=0.3)
  ax.legend()
  return fig


def write_curves(workdir, out=None):
  """Writes curves.png (or `out`) for the run in `workdir`: its path, None without matplotlib."""
  fig = curves_figure(workdir)
  if fig is None:
    return None
  return save_figure(fig, out or os.path.join(str(workdir), "curves.png"))


def table_curves_figure(workdirs, labels=None):
  """Validation (solid) and train (faint) NLL of several runs in one Figure.

  Runs whose NLL units differ (e.g. per example vs per position) are drawn in
  bits per dim so that they share one axis. None without matplotlib.
  """
  figure = figure_class("curves figure")
  if figure is None:
    return None
  if not workdirs:
    raise ValueError("plot_table_curves: workdirs is empty; pass at least one run directory")
  labels = labels or [_run_label(w) for w in workdirs]
  if len(labels) != len(workdirs):
    raise ValueError(f"plot_table_curves: {len(labels)} labels for {len(workdirs)} workdirs")
  runs = [read_curves(w) for w in workdirs]
  same = len({(c.unit, round(c.nats_per_bit, 6)) for c in runs}) == 1
  scale = (lambda c: 1.0) if same else (lambda c: 1.0 / c.nats_per_bit)
  fig = figure(figsize=(7.5, 4.5), dpi=120, layout="constrained")
  ax = fig.add_subplot()
  for i, (c, label) in enumerate(zip(runs, labels)):
    color = f"C{i % 10}"
    ax.plot(c.train_steps, c.train_nats * scale(c), color=color, lw=0.8, alpha=0.35)
    ax.plot(c.eval_steps, c.eval_nats * scale(c), color=color, lw=1.5, marker="o", ms=3,
            label=label)
  ax.set_xlabel("training step")
  if same:
    ax.set_ylabel(f"NLL ({runs[0].unit})")
    _bits_axis(ax, runs[0].nats_per_bit, runs[0].unit)
  else:
    ax.set_ylabel("NLL (bits per dim)")
  ax.set_title("validation NLL (solid) and train NLL (faint)")
  ax.grid(alpha=0.3)
  ax.legend(fontsize="small")
  return fig


def plot_table_curves(workdirs, out, labels=None):
  """Writes the `table_curves_figure` of `workdirs` to `out`; its path, or None."""
  fig = table_curves_figure(workdirs, labels)
  if fig is None:
    return None
  return save_figure(fig, out)


# ---- spectrograms ----

def spectrogram_figure(wave, sample_rate, title=None, db_range=None):
  """(Figure, (lo, hi) dB range) of float samples in [-1, 1]; (None, None) without matplotlib.

  Power in dB re full scale (`audio.spectrogram_dbfs`: 25 ms Hann window every
  10 ms); colours span `db_range`, by default from the 5th percentile to the
  maximum, so a second clip drawn with the first's range is comparable.
  """
  figure = figure_class("spectrogram")
  if figure is None:
    return None, None
  db, hop_s, bin_hz = audio.spectrogram_dbfs(wave, sample_rate)
  lo, hi = db_range or (float(np.percentile(db, 5)), float(db.max()))
  fig = figure(figsize=(8.0, 3.6), dpi=120, layout="constrained")
  ax = fig.add_subplot()
  img = ax.imshow(db.T, origin="lower", aspect="auto", cmap="magma", vmin=lo, vmax=hi,
                  interpolation="nearest",
                  extent=(0.0, db.shape[0] * hop_s, -bin_hz / 2, sample_rate / 2 + bin_hz / 2))
  ax.set_ylim(0.0, sample_rate / 2)
  ax.set_xlabel("time (s)")
  ax.set_ylabel("frequency (Hz)")
  if title:
    ax.set_title(title)
  fig.colorbar(img, ax=ax, pad=0.01).set_label("power (dB re full scale)")
  return fig, (lo, hi)


def plot_spectrogram(wave, sample_rate, out, title=None, db_range=None):
  """Writes the spectrogram PNG of `wave` to `out`; returns its (lo, hi) dB range, or None."""
  fig, used = spectrogram_figure(wave, sample_rate, title, db_range)
  if fig is None:
    return None
  save_figure(fig, out)
  return used


def main(argv=None):
  """`ar-jax plot`: curves.png of one run, or one figure of several (needs --out)."""
  p = argparse.ArgumentParser(prog="ar-jax plot", description=main.__doc__)
  p.add_argument("--workdir", action="append", required=True,
                 help="a run directory (repeat to draw several runs in one figure)")
  p.add_argument("--out", default=None, help="PNG path (default: <workdir>/curves.png)")
  args = p.parse_args(argv)
  if len(args.workdir) == 1:
    path = write_curves(args.workdir[0], args.out)
  elif args.out is None:
    p.error(f"{len(args.workdir)} --workdir given: pass --out=PATH for the combined figure")
  else:
    path = plot_table_curves(args.workdir, args.out)
  if path is None:
    return 1
  print(path)
  return 0


if __name__ == "__main__":
  raise SystemExit(main())

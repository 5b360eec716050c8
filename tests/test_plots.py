"""ar_jax.plots: curves.png of a run, combined curves, spectrograms, no-matplotlib path."""

import json
import math
import os
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from ar_jax import cli  # pylint: disable=wrong-import-position
from ar_jax import plots  # pylint: disable=wrong-import-position
from ar_jax import train  # pylint: disable=wrong-import-position

import train_testlib  # pylint: disable=wrong-import-position

LN2 = math.log(2.0)


def _write_run(workdir, *, train_dims=784, eval_dims=784, resumed=False, config=True):
  """A metrics.jsonl as train.py writes it; returns the rows written."""
  os.makedirs(workdir, exist_ok=True)
  rows = []
  for step in range(10, 70, 10):
    loss = 200.0 - step
    rows.append({"step": step, "split": "train", "loss": loss,
                 "bpd": loss / (train_dims * LN2), "lr": 1e-3})
    if step % 20 == 0:
      nll = (210.0 - step) * eval_dims / train_dims
      rows.append({"step": step, "split": "validation", "nll": nll,
                   "bpd": nll / (eval_dims * LN2), "best_nll": nll, "bad_evals": 0})
  if resumed:  # Steps 50..60 logged again after a resume from step 40: the later rows win.
    rows.append({"step": 50, "split": "train", "loss": 1.0, "bpd": 1.0 / (train_dims * LN2)})
  rows.append({"step": 60, "split": "test", "nll": 150.0 * eval_dims / train_dims,
               "bpd": 150.0 / (train_dims * LN2)})
  with open(os.path.join(workdir, "metrics.jsonl"), "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows)
  if config:
    with open(os.path.join(workdir, "config.json"), "w") as f:
      json.dump({"model": {"name": "made"}, "data": {"name": "binarized_mnist"}}, f)
  return rows


def _png_size(path):
  with open(path, "rb") as f:
    head = f.read(24)
  assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
  return struct.unpack(">II", head[16:24])


def _lines(fig):
  return {line.get_label(): line for line in fig.axes[0].get_lines()}


def test_write_curves_writes_a_png(tmp_path):
  _write_run(str(tmp_path))
  path = plots.write_curves(str(tmp_path))
  assert path == os.path.join(str(tmp_path), "curves.png")
  w, h = _png_size(path)
  assert 400 <= w <= 2000 and 300 <= h <= 1500
  out = plots.write_curves(str(tmp_path), out=str(tmp_path / "sub" / "c.png"))
  assert _png_size(out) == (w, h)


def test_curves_figure_plots_the_metrics(tmp_path):
  rows = _write_run(str(tmp_path))
  fig = plots.curves_figure(str(tmp_path))
  lines = _lines(fig)
  assert set(lines) == {"train", "validation", "test (final)"}
  tr = [r for r in rows if r["split"] == "train"]
  va = [r for r in rows if r["split"] == "validation"]
  np.testing.assert_array_equal(lines["train"].get_xdata(), [r["step"] for r in tr])
  np.testing.assert_allclose(lines["train"].get_ydata(), [r["loss"] for r in tr], rtol=1e-12)
  np.testing.assert_array_equal(lines["validation"].get_xdata(), [r["step"] for r in va])
  np.testing.assert_allclose(lines["validation"].get_ydata(), [r["nll"] for r in va])
  np.testing.assert_allclose(lines["test (final)"].get_ydata(), [150.0])
  ax = fig.axes[0]
  assert ax.get_xlabel() == "training step"
  assert ax.get_ylabel() == "NLL (nats per example)"
  assert ax.get_title() == "made on binarized_mnist"
  assert ax.child_axes[0].get_ylabel() == "bits per dim"  # The secondary axis.


def test_stream_runs_put_train_loss_per_position(tmp_path):
  """Train loss is per window of 64 positions, validation NLL per position."""
  _write_run(str(tmp_path), train_dims=64, eval_dims=1, config=False)
  c = plots.read_curves(str(tmp_path))
  assert c.unit == "nats per position" and c.title == tmp_path.name
  np.testing.assert_allclose(c.nats_per_bit, LN2)
  np.testing.assert_allclose(c.train_nats, (200.0 - np.arange(10, 70, 10)) / 64)
  assert plots.curves_figure(str(tmp_path)).axes[0].child_axes[0].get_ylabel() == (
      "bits per position")


def test_resumed_steps_keep_the_last_row(tmp_path):
  _write_run(str(tmp_path), resumed=True)
  c = plots.read_curves(str(tmp_path))
  np.testing.assert_array_equal(c.train_steps, [10, 20, 30, 40, 50, 60])
  assert c.train_nats[4] == pytest.approx(1.0)


def test_bad_metrics_name_the_file(tmp_path):
  with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
    plots.read_curves(str(tmp_path))
  (tmp_path / "metrics.jsonl").write_text('{"step": 1, "split": "train"}\nnot json\n')
  with pytest.raises(ValueError, match="line 2"):
    plots.read_curves(str(tmp_path))


def test_table_curves(tmp_path):
  a, b = str(tmp_path / "a"), str(tmp_path / "b")
  _write_run(a)
  _write_run(b, train_dims=64, eval_dims=1)
  fig = plots.table_curves_figure([a, b])
  assert fig.axes[0].get_ylabel() == "NLL (bits per dim)"  # Units differ: bits per dim.
  solid = [l for l in fig.axes[0].get_lines() if not l.get_label().startswith("_")]
  assert [l.get_label() for l in solid] == ["a (made on binarized_mnist)",
                                            "b (made on binarized_mnist)"]
  np.testing.assert_allclose(solid[1].get_ydata(), (210.0 - np.array([20, 40, 60])) / 64 / LN2)
  out = plots.plot_table_curves([a, a], str(tmp_path / "t.png"), labels=["x", "y"])
  assert _png_size(out)[0] > 400
  same = plots.table_curves_figure([a, a])
  assert same.axes[0].get_ylabel() == "NLL (nats per example)"
  with pytest.raises(ValueError, match="labels"):
    plots.table_curves_figure([a, b], labels=["x"])


def test_without_matplotlib_returns_none(tmp_path, monkeypatch, caplog):
  _write_run(str(tmp_path))
  for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
    monkeypatch.setitem(sys.modules, name, None)  # `import matplotlib...` raises ImportError
  with caplog.at_level("WARNING"):
    assert plots.write_curves(str(tmp_path)) is None
    assert plots.plot_spectrogram(np.zeros(800), 8000, str(tmp_path / "s.png")) is None
  assert not (tmp_path / "curves.png").exists() and not (tmp_path / "s.png").exists()
  assert 'pip install -e ".[plots]"' in caplog.text


def test_spectrogram_axes_and_colour_bar(tmp_path):
  rate = 8000
  t = np.arange(2 * rate) / rate
  wave = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
  fig, (lo, hi) = plots.spectrogram_figure(wave, rate, title="tone")
  ax, cbar = fig.axes
  assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "frequency (Hz)"
  assert ax.get_title() == "tone"
  assert "dB" in cbar.get_ylabel()
  assert ax.get_xlim() == pytest.approx((0.0, 2.0))
  assert ax.get_ylim() == pytest.approx((0.0, rate / 2))
  assert hi == pytest.approx(20 * np.log10(0.5), abs=0.1)  # A half-scale tone: -6 dB.
  img = ax.get_images()[0]
  assert img.get_clim() == (lo, hi)
  out = str(tmp_path / "s.png")
  assert plots.plot_spectrogram(wave, rate, out, db_range=(-80.0, 0.0)) == (-80.0, 0.0)
  assert _png_size(out)[0] > 400


def test_cli_plot(tmp_path, capsys):
  _write_run(str(tmp_path))
  assert cli.main(["ar-jax", "plot", "--workdir", str(tmp_path)]) == 0
  assert capsys.readouterr().out.strip() == str(tmp_path / "curves.png")
  with pytest.raises(SystemExit):
    cli.main(["ar-jax", "plot", "--workdir", str(tmp_path), "--workdir", str(tmp_path)])
  assert "--out" in capsys.readouterr().err


def test_training_writes_curves(tmp_path):
  with train_testlib.tiny_models():
    train.train_and_evaluate(train_testlib.tiny_config(), str(tmp_path))
  c = plots.read_curves(str(tmp_path))
  assert list(c.train_steps) == [1, 2, 3, 4, 5, 6] and list(c.eval_steps) == [3, 6]
  assert c.unit == "nats per example" and c.test_point[0] == 6
  assert _png_size(str(tmp_path / "curves.png"))[0] > 400

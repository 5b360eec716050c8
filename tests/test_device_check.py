"""experiments/device_check.sh in its smoke form: every part runs and the JSON names the device."""

import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_device_check_smoke_writes_one_json_naming_the_device(tmp_path):
  env = dict(os.environ, DEVICE_CHECK_SMOKE="1", AR_JAX_DATA_DIR=str(tmp_path / "no_data"),
             PYTHONPATH=str(ROOT))
  out = tmp_path / "dc"
  proc = subprocess.run([str(ROOT / "experiments" / "device_check.sh"), str(out),
                         "--train_seconds", "10"], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=600, check=False)
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  report = json.loads((out / "device_check.json").read_text())
  dev = report["device"]
  assert dev["platform"] == "cpu" and dev["device_kind"] and dev["device_count"] >= 1
  assert report["smoke"] is True
  assert report["smoke_table"]["status"] == "ok", report["smoke_table"]
  assert len(report["smoke_table"]["test_nll"]) == 2
  for family in ("dense", "image", "sequence"):
    bench = report["benchmarks"][family]
    assert bench["status"] == "ok" and bench["record"], (family, bench)
  eq = report["equivalence"]
  assert eq["one"]["device_count"] == 1 and eq["all"]["device_count"] == 8
  assert eq["equal"], eq
  pix = report["pixelcnn_training"]
  assert pix["status"] == "ok" and pix["eval_status"] == "ok", pix
  assert pix["steps"] > 0 and pix["test"]["checkpoint"] == "latest"
  assert pix["test"]["nll"] > 0 and pix["last_train_nll"] > 0
  assert report["total_seconds"] > 0

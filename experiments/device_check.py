r"""An accelerator check: one JSON that says what ar_jax does on the device JAX sees.

  python experiments/device_check.py --out runs/device_check            # < 8 min
  python experiments/device_check.py --out /tmp/dc --smoke              # CPU CI, ~1-2 min

Parts, each in its own subprocess with a time limit, each recorded with its
status ("ok", "failed" with the error's last lines, "timeout"), seconds and
figures:

1. `smoke_table`: `reproduce.py --table all --budget smoke` (every row of
   every table launches, trains and evaluates; `--smoke`: two rows);
2. `benchmarks`: the speed benchmarks' training and sampling rows of every
   family (`benchmarks.dense`, `.image`, `.sequence`; `--quick` sizes under
   `--smoke`), their JSON records kept;
3. `equivalence`: a short dynamic-binarization MADE run on 1 device and on
   all of them (8 simulated CPU devices on a CPU host): test NLLs must agree
   to rtol 1e-4;
4. `pixelcnn_training`: the paper-size PixelCNN (`pixelcnn_mnist.py`) on
   binarized MNIST for `--train_seconds` (300), stopped by SIGTERM (the
   trainer saves and exits 75), then its test NLL with the last params
   (`ar-jax eval --which=latest`). Real data if prepared in the data dir
   (carry `data_cache/` and set AR_JAX_DATA_DIR), else a stand-in, named in
   the record.

Writes `<out>/device_check.json`, whose `device` names the device kind,
platform and counts.
"""

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
STANDIN = "synthetic:shape=28x28x1,classes=2,train=2000,validation=200,test=200"


def _env(**extra):
  env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
  env.update(extra)
  return env


def _run(cmd, timeout, env=None, stop_after=None):
  """(status, seconds, output tail) of `cmd`; SIGTERM at `stop_after` s, kill at `timeout`."""
  t0 = time.time()
  proc = subprocess.Popen(cmd, cwd=ROOT, env=env or _env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
  try:
    out, _ = proc.communicate(timeout=stop_after or timeout)
  except subprocess.TimeoutExpired:
    if stop_after is None:
      proc.kill()
      out, _ = proc.communicate()
      return "timeout", time.time() - t0, out[-2000:]
    proc.send_signal(signal.SIGTERM)
    try:
      out, _ = proc.communicate(timeout=timeout - stop_after)
    except subprocess.TimeoutExpired:
      proc.kill()
      out, _ = proc.communicate()
      return "timeout", time.time() - t0, out[-2000:]
  ok = proc.returncode == 0 or (stop_after is not None and proc.returncode == 75)
  return ("ok" if ok else f"failed (exit {proc.returncode})"), time.time() - t0, out[-2000:]


def device_info():
  import jax  # pylint: disable=import-outside-toplevel
  d = jax.devices()[0]
  return dict(device_kind=d.device_kind, platform=d.platform, device_count=jax.device_count(),
              local_device_count=jax.local_device_count(), process_count=jax.process_count(),
              jax_version=jax.__version__)


def smoke_table(out, smoke, timeout):
  cmd = [sys.executable, "experiments/reproduce.py", "--budget", "smoke",
         "--workdir", str(out / "smoke_table")]
  cmd += ["--table", "binarized_mnist", "--rows", "made_1mask,pixelcnn"] if smoke else [
      "--table", "all"]
  status, secs, tail = _run(cmd, timeout)
  res = dict(status=status, seconds=round(secs, 1), command=" ".join(cmd[1:]))
  records = sorted((out / "smoke_table" / "smoke" / "results").rglob("*.json"))
  res["test_nll"] = {str(p.relative_to(out / "smoke_table" / "smoke" / "results")):
                     json.loads(p.read_text()).get("test_nll") for p in records}
  if status != "ok":
    res["output_tail"] = tail
  return res


def benchmarks(out, smoke, timeout):
  res = {}
  for family, extra in (("dense", ["--configs", ""]), ("image", []), ("sequence", [])):
    path = out / f"bench_{family}.json"
    cmd = [sys.executable, "-m", f"benchmarks.{family}", "--out", str(path)] + extra
    cmd += ["--quick"] if smoke else []
    status, secs, tail = _run(cmd, timeout)
    res[family] = dict(status=status, seconds=round(secs, 1), command=" ".join(cmd[2:]))
    if path.exists():
      res[family]["record"] = json.loads(path.read_text())
    if status != "ok":
      res[family]["output_tail"] = tail
  return res


def _one_device_env(platform):
  if platform == "gpu":
    return dict(CUDA_VISIBLE_DEVICES="0")
  if platform == "tpu":
    return dict(TPU_VISIBLE_CHIPS="0", TPU_CHIPS_PER_PROCESS_BOUNDS="1,1,1",
                TPU_PROCESS_BOUNDS="1,1,1")
  return dict(JAX_NUM_CPU_DEVICES="1")


def equivalence(out, platform, timeout):
  """Test NLL of one short run on 1 device and on all devices (8 on a CPU host)."""
  flags = ["--config=experiments/configs/made_mnist.py:cpu",
           "--config.data.name=synthetic:shape=28x28x1,classes=256,train=256,validation=64,"
           "test=64", "--config.data.binarization=dynamic", "--config.train.batch_size=16",
           "--config.train.num_steps=10", "--config.eval.every_steps=10",
           "--config.eval.batch_size=16", "--config.eval.num_samples=0",
           "--config.train.checkpoint_every_steps=10", "--config.optim.warmup_steps=0"]
  res = {}
  for name, extra in (("one", _one_device_env(platform)),
                      ("all", {} if platform != "cpu" else dict(JAX_NUM_CPU_DEVICES="8"))):
    wd = out / f"equivalence_{name}"
    status, secs, tail = _run([sys.executable, "-m", "ar_jax.main", *flags,
                               f"--workdir={wd}"], timeout, env=_env(**extra))
    run = dict(status=status, seconds=round(secs, 1))
    if (wd / "results.json").exists():
      r = json.loads((wd / "results.json").read_text())
      run.update(test_nll=r["test_nll"], device_count=r["device_count"])
    else:
      run["output_tail"] = tail
    res[name] = run
  a, b = res["one"].get("test_nll"), res["all"].get("test_nll")
  res["rtol"] = 1e-4
  res["equal"] = a is not None and b is not None and abs(a - b) <= 1e-4 * abs(a)
  return res


def _data_prepared():
  from ar_jax.data import reading  # pylint: disable=import-outside-toplevel
  from ar_jax.data import specs  # pylint: disable=import-outside-toplevel
  try:
    reading.verify_prepared("binarized_mnist", ["train", "validation", "test"])
  except specs.DatasetNotPreparedError:
    return False
  return True


def pixelcnn_training(out, seconds, smoke, timeout):
  """The paper-size PixelCNN trained for `seconds`, then scored on the test split."""
  wd = out / "pixelcnn_training"
  real = _data_prepared()
  flags = [f"--config=experiments/configs/pixelcnn_mnist.py{':cpu' if smoke else ''}",
           f"--workdir={wd}", "--config.train.num_steps=1000000",
           "--config.optim.schedule=constant", "--config.train.early_stopping_patience=0",
           f"--config.eval.every_steps={50 if smoke else 500}",
           f"--config.train.checkpoint_every_steps={50 if smoke else 500}",
           "--config.train.log_every_steps=10", "--config.eval.num_samples=16"]
  if not real:
    flags.append(f"--config.data.name={STANDIN}")
  if smoke:
    flags += ["--config.data.eval_split=validation[:100]" if real else "",
              "--config.eval.batch_size=100", "--config.train.log_every_steps=1"]
  flags = [f for f in flags if f]
  status, secs, tail = _run([sys.executable, "-m", "ar_jax.main", *flags], timeout,
                            stop_after=seconds)
  res = dict(status=status, seconds=round(secs, 1), train_seconds=seconds,
             data="binarized_mnist" if real else STANDIN, config=flags[0].split("=", 1)[1])
  rows = [json.loads(line) for line in (wd / "metrics.jsonl").read_text().splitlines()
          ] if (wd / "metrics.jsonl").exists() else []
  train = [r for r in rows if r.get("split") == "train"]
  if train:
    res["steps"] = train[-1]["step"]
    res["last_train_nll"] = train[-1].get("loss")
    res["steps_per_sec"] = train[-1].get("steps_per_sec")
  res["validation_nll"] = [(r["step"], r["nll"]) for r in rows if r.get("split") not in (
      "train", "test") and "nll" in r]
  if status != "ok":
    res["output_tail"] = tail
    return res
  ev = out / "pixelcnn_test.json"
  status, secs, tail = _run([sys.executable, "-m", "ar_jax.cli", "eval", f"--workdir={wd}",
                             "--which=latest", "--split=test", f"--out={ev}"], timeout)
  res["eval_status"], res["eval_seconds"] = status, round(secs, 1)
  if ev.exists():
    res["test"] = json.loads(ev.read_text())
    res["steps"] = res["test"]["step"]  # The step the SIGTERM save landed on.
  else:
    res["eval_output_tail"] = tail
  return res


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", required=True, help="directory of the runs and the JSON")
  parser.add_argument("--smoke", action="store_true", help="tiny sizes for a CPU CI run")
  parser.add_argument("--train_seconds", type=float, default=None,
                      help="PixelCNN training time (default 300; 15 with --smoke)")
  parser.add_argument("--parts", default="smoke_table,benchmarks,equivalence,pixelcnn_training")
  args = parser.parse_args(argv)
  out = pathlib.Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  parts = args.parts.split(",")
  seconds = args.train_seconds or (15 if args.smoke else 300)
  t0 = time.time()
  report = dict(device=device_info(), smoke=args.smoke)
  platform = report["device"]["platform"]
  path = out / "device_check.json"
  steps = dict(
      smoke_table=lambda: smoke_table(out, args.smoke, 240 if args.smoke else 150),
      benchmarks=lambda: benchmarks(out, args.smoke, 120 if args.smoke else 100),
      equivalence=lambda: equivalence(out, platform, 120),
      pixelcnn_training=lambda: pixelcnn_training(out, seconds, args.smoke, seconds + 120))
  unknown = [p for p in parts if p not in steps]
  if unknown:
    parser.error(f"unknown --parts {unknown}; expected some of {list(steps)}")
  for name in parts:
    print(f"== device_check: {name}", flush=True)
    report[name] = steps[name]()
    report["total_seconds"] = round(time.time() - t0, 1)
    path.write_text(json.dumps(report, indent=2) + "\n")  # After each part: partial results survive.
  print(json.dumps({k: v.get("status", v) if isinstance(v, dict) else v
                    for k, v in report.items()}, indent=2))
  print(f"wrote {path}")
  return report


if __name__ == "__main__":
  main()

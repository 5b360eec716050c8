"""Faults injected on purpose: each is a promise of docs/reliability.md.

In-process tests use the tiny model on 4x4 synthetic data; tests of exit
codes, signals and printed errors run the `ar-jax` CLI in a subprocess. Run
as a script, this file is that CLI with the tiny test models registered:

  python tests/test_faults.py train --config=CFG.py --workdir=W
"""

import glob
import functools
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import train_testlib
from ar_jax import checkpoint
from ar_jax import evaluation
from ar_jax import experiment
from ar_jax import main as launcher
from ar_jax import train
from ar_jax import workdir as run_dir

NOISE = ("Traceback", "Event loop is closed", "ImportError", "never retrieved")


@pytest.fixture(autouse=True, scope="module")
def _tiny_models():
  with train_testlib.tiny_models():
    yield


def _snapshot(workdir):
  """{relative path: sha256} of every file under `workdir` (and the dirs)."""
  out = {}
  for root, dirs, files in os.walk(workdir):
    for d in dirs:
      out[os.path.relpath(os.path.join(root, d), workdir) + "/"] = None
    for f in files:
      p = os.path.join(root, f)
      out[os.path.relpath(p, workdir)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
  return out


def _rows(workdir):
  return [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]


def _assert_one_row_per_step(workdir, num_steps):
  rows = _rows(workdir)
  keys = [(r["step"], r["split"]) for r in rows]
  assert len(keys) == len(set(keys)), sorted(keys)
  assert sorted(r["step"] for r in rows if r["split"] == "train") == list(
      range(1, num_steps + 1))


# ---------------------------------------------------------------- CLI helpers


def _config_file(tmp_path, name="cfg.py", **overrides):
  path = tmp_path / name
  path.write_text(
      "import train_testlib\n\n\ndef get_config():\n"
      f"  return train_testlib.tiny_config(**{overrides!r})\n")
  return str(path)


def _cli(*args, timeout=240):
  """Runs `ar-jax ARGS` in a fresh process; returns (rc, stdout, stderr)."""
  p = subprocess.run([sys.executable, os.path.abspath(__file__), *args],
                     env=train_testlib.runner_env(), capture_output=True, text=True,
                     timeout=timeout, check=False)
  return p.returncode, p.stdout, p.stderr


def _assert_user_error(rc, err, *needles):
  """Exit 2, one `error:` line naming `needles`, nothing else but log lines."""
  assert rc == launcher.EXIT_USER_ERROR, err[-3000:]
  for noise in NOISE:
    assert noise not in err, err[-3000:]
  last = err.strip().splitlines()[-1]
  assert last.startswith("error: "), err[-3000:]
  for needle in needles:
    assert needle in last, last


# --------------------------------------------------- the run directory contract


def test_refused_relaunch_changes_nothing_and_eval_still_works(tmp_path):
  cfg, workdir = _config_file(tmp_path), str(tmp_path / "run")
  rc, _, err = _cli("train", f"--config={cfg}", f"--workdir={workdir}")
  assert rc == 0, err[-3000:]
  before = _snapshot(workdir)
  rc, _, err = _cli("train", f"--config={cfg}", f"--workdir={workdir}",
                    "--config.seed=7")  # Same shapes, another init and data order.
  _assert_user_error(rc, err, "seed: 0 -> 7", "--allow_config_change", "new --workdir")
  assert _snapshot(workdir) == before
  rc, out, err = _cli("eval", f"--workdir={workdir}", f"--out={tmp_path / 'e.json'}")
  assert rc == 0, err[-3000:]
  assert json.loads(out.strip().splitlines()[-1])["step"] == 6


def test_resume_refuses_run_defining_changes_and_accepts_resume_safe_ones(tmp_path):
  workdir = str(tmp_path)
  # The cosine ends at 0.1 * lr, so extending the run below still trains
  # (validation refuses a cosine to 0 that ends before the last update).
  tiny = functools.partial(train_testlib.tiny_config, optim__end_lr_factor=0.1)
  train.train_and_evaluate(tiny(), workdir, stop=train_testlib.StopAfter(2))
  for key, value, shown in [("seed", 7, "seed: 0 -> 7"),
                            ("optim__lr", 0.5, "optim.lr: 0.01 -> 0.5"),
                            ("data__binarization", "none", "data.binarization")]:
    with pytest.raises(run_dir.IncompatibleResumeError, match=shown):
      train.train_and_evaluate(tiny(**{key: value}), workdir)
  # The schedule follows num_steps when decay_steps is -1: its shape would change.
  with pytest.raises(run_dir.IncompatibleResumeError, match="schedule length"):
    run_dir.check_resume(tiny(optim__decay_steps=-1).to_dict(),
                         tiny(optim__decay_steps=-1,
                                                   train__num_steps=8).to_dict())
  safe = tiny(train__num_steps=8, eval__every_steps=4,
                                   train__log_every_steps=2)
  results = train.train_and_evaluate(safe, workdir)
  assert results["resumed_from_step"] == 2 and results["steps"] == 8
  saved = json.load(open(os.path.join(workdir, "config.json")))
  assert saved["train"]["num_steps"] == 8  # The accepted config is the run's now.
  forced = train.train_and_evaluate(
      tiny(train__num_steps=10, optim__lr=0.02), workdir,
      allow_config_change=True)
  assert forced["resumed_from_step"] == 8 and forced["steps"] == 10


def test_failed_launch_leaves_no_files(tmp_path):
  workdir = tmp_path / "new_run"
  cfg = train_testlib.tiny_config(data__name="binarized_mnist",
                                  data__data_dir=str(tmp_path / "no_data"))
  with pytest.raises(FileNotFoundError):
    train.train_and_evaluate(cfg, str(workdir))
  assert not workdir.exists()


def test_metrics_hold_each_step_once_after_resumes(tmp_path):
  workdir = str(tmp_path)
  cfg = train_testlib.tiny_config(train__checkpoint_every_steps=4)
  for n in (3, 3, 2):  # Stops at 3, then 3 + 3, ...: resumes replay steps.
    train.train_and_evaluate(cfg, workdir, stop=train_testlib.StopAfter(n))
  with open(os.path.join(workdir, "metrics.jsonl"), "a") as f:
    f.write('{"step": 99, "split": "tra')  # A line torn by a crash.
  train.train_and_evaluate(cfg, workdir)
  train.train_and_evaluate(cfg, workdir)  # Finished: runs the final test again.
  _assert_one_row_per_step(workdir, 6)
  assert [r["split"] for r in _rows(workdir)].count("test") == 1


# --------------------------------------------------------- verified checkpoints


def _array_files(step_dir):
  return sorted(f for f in glob.glob(os.path.join(step_dir, "state", "**", "d", "*"),
                                     recursive=True) if os.path.isfile(f))


def _flip_bit(path, bit):
  with open(path, "r+b") as f:
    f.seek(bit // 8)
    byte = f.read(1)[0]
    f.seek(bit // 8)
    f.write(bytes([byte ^ (1 << (bit % 8))]))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("finished"))
  cfg = train_testlib.tiny_config()
  return workdir, cfg, train.train_and_evaluate(cfg, workdir)


def test_a_flipped_bit_anywhere_in_array_data_is_detected(finished, tmp_path):
  workdir, cfg, _ = finished
  step_dir = str(tmp_path / "ckpt")
  os.system(f"cp -r {workdir}/checkpoints_best {step_dir}")
  exp = experiment.build(cfg)
  files = _array_files(os.path.join(step_dir, "6"))
  assert files
  rng = random.Random(0)
  tried = 0
  with jax.set_mesh(exp.mesh), checkpoint.Checkpointer(
      step_dir, max_to_keep=5, async_save=False) as ckpt:
    for path in files:
      bits = os.path.getsize(path) * 8
      for bit in sorted(rng.sample(range(bits), min(bits, 6))):
        _flip_bit(path, bit)
        with pytest.raises(checkpoint.CorruptCheckpointError, match="corrupt"):
          ckpt.restore(exp.abstract, fallback=False)
        _flip_bit(path, bit)
        tried += 1
    ckpt.restore(exp.abstract, fallback=False)  # Unflipped, it restores again.
  assert tried >= 6 * len(files) - 6


def test_corrupt_latest_checkpoint_is_quarantined_and_training_falls_back(tmp_path, caplog):
  workdir = str(tmp_path)
  cfg = train_testlib.tiny_config()
  train.train_and_evaluate(cfg, workdir, stop=train_testlib.StopAfter(4))
  ckpt_dir = os.path.join(workdir, "checkpoints")
  biggest = max(_array_files(os.path.join(ckpt_dir, "4")), key=os.path.getsize)
  _flip_bit(biggest, os.path.getsize(biggest) * 4)  # A bit in the middle.
  with caplog.at_level("WARNING"):
    results = train.train_and_evaluate(cfg, workdir)
  assert results["resumed_from_step"] == 2
  moved = [r.getMessage() for r in caplog.records if "moved to" in r.getMessage()]
  assert moved and "checkpoints/4 is corrupt" in moved[0] and "checkpoints/2" in moved[0]
  assert [p.split("-")[0] for p in os.listdir(ckpt_dir + "_corrupt")] == ["4"]


def test_eval_and_sample_refuse_a_corrupt_checkpoint(tmp_path):
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(train_testlib.tiny_config(), workdir)
  biggest = max(_array_files(os.path.join(workdir, "checkpoints_best", "6")),
                key=os.path.getsize)
  _flip_bit(biggest, os.path.getsize(biggest) * 4)
  before = _snapshot(workdir)
  for cmd in ("eval", "sample"):
    rc, out, err = _cli(cmd, f"--workdir={workdir}")
    _assert_user_error(rc, err, "checkpoints_best/6 is corrupt", "--which=latest")
    assert "nll" not in out
  assert _snapshot(workdir) == before  # Refused, and nothing moved.


def test_a_save_failing_half_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
  from orbax.checkpoint._src.handlers import json_checkpoint_handler as jch  # pylint: disable=import-outside-toplevel
  workdir = str(tmp_path)
  cfg = train_testlib.tiny_config(train__async_checkpointing=False)
  real = jch.JsonCheckpointHandler.async_save
  calls = []

  async def failing(self, directory, *args, **kwargs):
    calls.append(str(directory))
    if "/checkpoints/4." in str(directory):  # Step 4's tmp dir, arrays written.
      raise OSError(28, "No space left on device")  # After the arrays were written.
    return await real(self, directory, *args, **kwargs)

  monkeypatch.setattr(jch.JsonCheckpointHandler, "async_save", failing)
  with pytest.raises(OSError, match="No space left"):
    train.train_and_evaluate(cfg, workdir)
  monkeypatch.setattr(jch.JsonCheckpointHandler, "async_save", real)
  assert any("/checkpoints/4." in c for c in calls)
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["2"] or all(
      not d.startswith("4") or "tmp" in d for d in os.listdir(os.path.join(workdir, "checkpoints")))
  state, _, step = train_testlib.load_state(cfg, workdir)
  assert step == 2
  results = train.train_and_evaluate(cfg, workdir)
  assert results["resumed_from_step"] == 2 and results["steps"] == 6
  _assert_one_row_per_step(workdir, 6)


# ----------------------------------------------------------- signals, exit codes


def _long_run(tmp_path):
  return _config_file(tmp_path, train__num_steps=1_000_000,
                      optim__decay_steps=1_000_000,
                      train__checkpoint_every_steps=1_000_000,
                      eval__every_steps=1_000_000)


def _launch_and_signal(tmp_path, signals, min_steps=5):
  workdir = str(tmp_path / "run")
  cmd = [sys.executable, os.path.abspath(__file__), "train",
         f"--config={_long_run(tmp_path)}", f"--workdir={workdir}"]
  proc = subprocess.Popen(cmd, env=train_testlib.runner_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.time() + 180
    while len(train_testlib.train_steps_logged(workdir)) < min_steps:
      assert proc.poll() is None, proc.communicate()[1][-3000:]
      assert time.time() < deadline, "training did not start"
      time.sleep(0.2)
    for s in signals:
      proc.send_signal(s)
    _, err = proc.communicate(timeout=120)
  finally:
    if proc.poll() is None:
      proc.kill()
  return proc.returncode, err, workdir


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_at_the_current_step_and_exits_preempted(tmp_path, sig):
  rc, err, workdir = _launch_and_signal(tmp_path, [sig])
  assert rc == launcher.EXIT_PREEMPTED, err[-3000:]
  for noise in NOISE:
    assert noise not in err, err[-3000:]
  assert f"{sig.name} received" in err
  steps = train_testlib.train_steps_logged(workdir)
  assert os.listdir(os.path.join(workdir, "checkpoints")) == [str(steps[-1])]
  assert not os.path.exists(os.path.join(workdir, "results.json"))


def test_second_signal_exits_at_once_and_leaves_no_unverified_checkpoint(tmp_path):
  rc, err, workdir = _launch_and_signal(tmp_path, [signal.SIGTERM, signal.SIGTERM])
  assert rc in (launcher.EXIT_PREEMPTED, 128 + signal.SIGTERM), err[-3000:]
  listed = [d for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit()]
  cfg = train_testlib.tiny_config(train__num_steps=1_000_000, optim__decay_steps=1_000_000)
  exp = experiment.build(cfg)
  with jax.set_mesh(exp.mesh), checkpoint.Checkpointer(
      os.path.join(workdir, "checkpoints"), max_to_keep=5, async_save=False) as ckpt:
    for step in listed:  # Every listed step verifies against its checksums.
      ckpt.restore(exp.abstract, step=int(step), fallback=False)


def test_kill_9_at_random_steps_then_resume_equals_the_straight_run(tmp_path):
  overrides = {"train.num_steps": 24, "optim.decay_steps": 24,
               "train.checkpoint_every_steps": 2, "eval.every_steps": 8}
  straight = train_testlib.run(tmp_path / "straight", tmp_path / "s.npz",
                               overrides=overrides)
  workdir = tmp_path / "killed"
  rng = random.Random(18)
  for _ in range(5):
    done = max(train_testlib.train_steps_logged(str(workdir)), default=0)
    target = min(done + rng.randint(1, 5), 23)
    proc = subprocess.Popen(
        train_testlib.runner_cmd(workdir, tmp_path / "k.npz", overrides=overrides),
        env=train_testlib.runner_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while max(train_testlib.train_steps_logged(str(workdir)), default=0) < target:
      assert proc.poll() is None and time.time() < deadline
      time.sleep(0.02)
    proc.kill()  # SIGKILL: no handler runs.
    proc.wait()
  resumed = train_testlib.run(workdir, tmp_path / "r.npz", overrides=overrides)
  assert resumed["test_nll"] == straight["test_nll"]
  for k in straight:
    if k.startswith("state"):
      np.testing.assert_array_equal(resumed[k], straight[k], err_msg=k)
  _assert_one_row_per_step(str(workdir), 24)


# ---------------------------------------------------------------- user errors


def test_user_errors_print_one_line_and_exit_2(tmp_path):
  cfg, workdir = _config_file(tmp_path), str(tmp_path / "run")
  rc, _, err = _cli("train", f"--config={cfg}", f"--workdir={workdir}",
                    "--config.train.nope=1")
  _assert_user_error(rc, err, "train.nope")
  rc, _, err = _cli("train", f"--config={cfg}", f"--workdir={workdir}",
                    "--config.optim.lr=-1.0")
  _assert_user_error(rc, err, "optim.lr=-1.0", "> 0")
  rc, _, err = _cli("train", f"--config={tmp_path / 'missing.py'}:cpu",
                    f"--workdir={workdir}")
  _assert_user_error(rc, err, "missing.py", "no such config file")
  assert "config_config" not in err
  missing = _config_file(tmp_path, "nodata.py", data__name="binarized_mnist",
                         data__data_dir=str(tmp_path / "no_data"))
  rc, _, err = _cli("train", f"--config={missing}", f"--workdir={workdir}")
  _assert_user_error(rc, err, "binarized_mnist")
  assert not os.path.exists(workdir)
  rc, _, err = _cli("eval", f"--workdir={workdir}", f"--config={cfg}")
  _assert_user_error(rc, err, "no checkpoint")
  rc, _, err = _cli("train", f"--config={cfg}", f"--workdir={workdir}", "--verbose",
                    "--config.optim.lr=-1.0")
  assert rc == 2 and "Traceback" in err  # --verbose shows it.


def test_eval_prints_its_result_before_writing(finished, tmp_path):
  workdir, _, results = finished
  blocked = tmp_path / "a_file"
  blocked.write_text("")
  before = _snapshot(workdir)
  rc, out, err = _cli("eval", f"--workdir={workdir}", f"--out={blocked}/eval.json")
  _assert_user_error(rc, err, "not saved", "--out")
  res = json.loads(out.strip().splitlines()[-1])
  assert res["nll"] == results["test_nll"] and res["unit"] == "bits/dim"
  assert _snapshot(workdir) == before


def test_text_runs_report_bits_per_char():
  from types import SimpleNamespace  # pylint: disable=import-outside-toplevel
  exp = lambda name, stream: SimpleNamespace(  # pylint: disable=unnecessary-lambda-assignment
      data=SimpleNamespace(is_stream=stream),
      config=SimpleNamespace(data=SimpleNamespace(name=name)))
  assert evaluation.bits_unit(exp("shakespeare_char", True)) == "bits/char"
  assert evaluation.bits_unit(exp("binarized_mnist", False)) == "bits/dim"


if __name__ == "__main__":
  from ar_jax import cli  # pylint: disable=ungrouped-imports
  with train_testlib.tiny_models():
    cli.main(["ar-jax", *sys.argv[1:]])

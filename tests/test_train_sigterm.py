"""A real SIGTERM mid-training saves a checkpoint at the current step and returns
unfinished (the runner calls `train_and_evaluate`; the CLI exit code 75 is
tested in test_faults.py)."""

import os
import signal
import subprocess
import time

import numpy as np

import train_testlib


def test_sigterm_saves_current_step_and_exits_cleanly(tmp_path):
  workdir, out = tmp_path / "w", tmp_path / "out.npz"
  # Far more steps than will run; no periodic checkpoint or eval before the signal.
  overrides = {"train.num_steps": 1_000_000, "optim.decay_steps": 1_000_000,
               "train.checkpoint_every_steps": 1_000_000, "eval.every_steps": 1_000_000}
  proc = subprocess.Popen(
      train_testlib.runner_cmd(workdir, out, overrides=overrides),
      env=train_testlib.runner_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True)
  try:
    deadline = time.time() + 180
    while len(train_testlib.train_steps_logged(workdir)) < 5:
      assert proc.poll() is None, proc.communicate()[1][-4000:]
      assert time.time() < deadline, "training did not start"
      time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
  finally:
    if proc.poll() is None:
      proc.kill()
  assert proc.returncode == 0, err[-4000:]
  assert "SIGTERM received" in err
  steps = train_testlib.train_steps_logged(workdir)
  saved = int(np.load(out)["step"])  # The runner restores the newest checkpoint.
  assert saved == steps[-1] >= 5  # Saved at the step it was at, not an older one.
  assert os.listdir(workdir / "checkpoints") == [str(saved)]
  assert not os.path.exists(workdir / "results.json")  # Preempted, not finished.

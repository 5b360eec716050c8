"""Exact resume, corrupt-checkpoint fallback, NaN stop, K steps per dispatch, CLI.

All in-process on the default device(s) with the tiny model and 4x4 synthetic
data. One straight 6-step run (module fixture) is the reference: resumed,
fallback and multi-step-dispatch runs must reproduce its final state.
"""

import glob
import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import train_testlib
from ar_jax import checkpoint
from ar_jax import experiment
from ar_jax import optim
from ar_jax import steps
from ar_jax import train


@pytest.fixture(autouse=True, scope="module")
def _tiny_models():  # module scope: module-scoped fixtures train with it
  with train_testlib.tiny_models():
    yield


def _config(**kw):
  # EMA + gradient accumulation so the resume also covers their state.
  base = dict(optim__ema_decay=0.9, optim__grad_accum_steps=2)
  base.update(kw)
  return train_testlib.tiny_config(**base)


def _assert_states_equal(a, b, exact=True):
  leaves_a = jax.tree_util.tree_leaves_with_path(a)
  leaves_b = jax.tree_util.tree_leaves(b)
  assert len(leaves_a) == len(leaves_b)
  for (path, x), y in zip(leaves_a, leaves_b):
    if exact:
      np.testing.assert_array_equal(x, y, err_msg=jax.tree_util.keystr(path))
    else:
      np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7,
                                 err_msg=jax.tree_util.keystr(path))


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("straight"))
  results = train.train_and_evaluate(_config(), workdir)
  state, meta, step = train_testlib.load_state(_config(), workdir)
  return dict(workdir=workdir, results=results, state=state, meta=meta, step=step)


def test_straight_run_outputs(straight):
  assert straight["step"] == 6
  r = straight["results"]
  assert r["steps"] == 6 and r["test_examples"] == 19 and np.isfinite(r["test_nll"])
  assert r["test_params"].endswith("(ema)")
  for name in ("metrics.jsonl", "samples.png", "results.json", "config.json"):
    assert os.path.exists(os.path.join(straight["workdir"], name)), name
  assert glob.glob(os.path.join(straight["workdir"], "tensorboard", "events.*"))
  splits = [json.loads(l)["split"] for l in open(
      os.path.join(straight["workdir"], "metrics.jsonl"))]
  assert splits.count("train") == 6 and splits.count("validation") == 2
  assert splits.count("test") == 1


def test_resume_is_bitwise_exact(straight, tmp_path):
  workdir = str(tmp_path)
  out = train.train_and_evaluate(_config(), workdir, stop=train_testlib.StopAfter(3))
  assert out == {"preempted": True, "step": 3}
  # Step 3 is mid-accumulation (k=2): the MultiSteps buffer must be restored too.
  results = train.train_and_evaluate(_config(), workdir)
  assert results["resumed_from_step"] == 3
  state, meta, step = train_testlib.load_state(_config(), workdir)
  assert step == 6
  _assert_states_equal(straight["state"], state)  # params, opt state, EMA, rng, step
  assert meta["best_nll"] == straight["meta"]["best_nll"]
  assert meta["best_step"] == straight["meta"]["best_step"]
  assert results["test_nll"] == straight["results"]["test_nll"]


def test_corrupt_latest_checkpoint_falls_back(straight, tmp_path):
  workdir = str(tmp_path)
  train.train_and_evaluate(_config(), workdir, stop=train_testlib.StopAfter(4))
  ckpt_dir = os.path.join(workdir, "checkpoints")
  assert sorted(os.listdir(ckpt_dir)) == ["2", "4"]
  for path in glob.glob(os.path.join(ckpt_dir, "4", "state", "**", "d", "*"),
                        recursive=True):
    with open(path, "r+b") as f:
      f.truncate(3)  # A torn write: the files exist but are cut short.
  os.makedirs(os.path.join(ckpt_dir, "5.orbax-checkpoint-tmp-1", "state"))  # Interrupted save.
  results = train.train_and_evaluate(_config(), workdir)
  assert results["resumed_from_step"] == 2
  assert [p.split("-")[0] for p in os.listdir(ckpt_dir + "_corrupt")] == ["4"]
  state, _, step = train_testlib.load_state(_config(), workdir)
  assert step == 6
  _assert_states_equal(straight["state"], state)  # Data order follows the step.


def test_incompatible_config_raises_and_moves_nothing(straight):
  cfg = _config(optim__ema_decay=0.0)  # The checkpoints hold an EMA; this has none.
  with pytest.raises(checkpoint.CheckpointError, match=r"ema_params\[.b.\] is float32 \[16\] "
                     r"in the checkpoint but absent.*use a new workdir; nothing was moved"):
    train_testlib.load_state(cfg, straight["workdir"])
  assert sorted(os.listdir(os.path.join(straight["workdir"], "checkpoints"))) == [
      "2", "4", "6"]


def test_steps_per_dispatch_matches_one_step_per_dispatch(straight, tmp_path):
  cfg = _config(train__steps_per_dispatch=4, train__log_every_steps=6,
                train__checkpoint_every_steps=6, eval__every_steps=6)
  train.train_and_evaluate(cfg, str(tmp_path))
  state, _, step = train_testlib.load_state(cfg, str(tmp_path))
  assert step == 6
  # lax.scan may fuse differently from single steps: equal up to float rounding.
  _assert_states_equal(straight["state"], state, exact=False)


def _nan_at_update(n):
  """An optax transform that turns the n-th update (0-based) into NaN."""

  def init(params):
    del params
    return jnp.zeros((), jnp.int32)

  def update(updates, count, params=None):
    del params
    updates = jax.tree.map(lambda u: jnp.where(count == n, jnp.nan, u), updates)
    return updates, count + 1

  return optax.GradientTransformation(init, update)


def test_nonfinite_update_is_never_saved_and_keeps_last_good_checkpoint(monkeypatch, tmp_path):
  make = optim.make_optimizer

  def poisoned(optim_cfg, total_updates):
    tx, schedule = make(optim_cfg, total_updates)
    return optax.chain(tx, _nan_at_update(3)), schedule

  monkeypatch.setattr(optim, "make_optimizer", poisoned)
  cfg = train_testlib.tiny_config(optim__ema_decay=0.9)
  # Gradients stay finite, so step 4 applies the NaN update; the save at step 4
  # (checkpoint_every_steps=2) finds it and refuses.
  with pytest.raises(FloatingPointError, match=r"non-finite parameters or optimizer state "
                     r"at step 4.*last good checkpoint is step 2"):
    train.train_and_evaluate(cfg, str(tmp_path))
  assert sorted(os.listdir(os.path.join(tmp_path, "checkpoints"))) == ["2"]
  state, _, step = train_testlib.load_state(cfg, str(tmp_path))
  assert step == 2
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state))


def test_nonfinite_loss_stops_at_that_step(monkeypatch, tmp_path):
  """NaN update at step 3 (not saved: no save at 3), so step 4's loss is NaN."""
  make = optim.make_optimizer
  monkeypatch.setattr(optim, "make_optimizer", lambda c, n: (
      optax.chain(make(c, n)[0], _nan_at_update(2)), make(c, n)[1]))
  cfg = train_testlib.tiny_config()
  with pytest.raises(FloatingPointError, match=r"non-finite training step 4: loss=nan.*"
                     r"not applied.*last good checkpoint is step 2"):
    train.train_and_evaluate(cfg, str(tmp_path))
  assert sorted(os.listdir(os.path.join(tmp_path, "checkpoints"))) == ["2"]


def test_train_step_skips_the_update_on_a_nonfinite_loss():
  cfg = train_testlib.tiny_config(optim__ema_decay=0.9)
  exp = experiment.build(cfg)
  with jax.set_mesh(exp.mesh):
    state = experiment.init_state(exp)
  leaves, treedef = jax.tree.flatten(state.params)
  leaves[0] = leaves[0].at[(0,) * leaves[0].ndim].set(jnp.nan)  # -> NaN loss
  bad = state.replace(params=jax.tree.unflatten(treedef, leaves))
  batch = {"x": jnp.ones((cfg.train.batch_size, 4, 4, 1), jnp.uint8)}
  kw = dict(model=exp.model, tx=exp.tx, schedule=exp.schedule, binarization="none",
            ema_decay=0.9, accum_steps=1)
  new, m = steps.train_step(bad, batch, **kw)
  assert not bool(m["finite"]) and int(new.step) == int(bad.step) + 1
  for name in ("params", "opt_state", "ema_params"):
    chex.assert_trees_all_equal(getattr(new, name), getattr(bad, name))  # NaN == NaN here
  # The same step from the good state does change the params.
  good, m = steps.train_step(state, batch, **kw)
  assert bool(m["finite"])
  assert not np.array_equal(jax.tree.leaves(good.params)[0], jax.tree.leaves(state.params)[0])


def test_cli_eval_and_sample(straight, tmp_path):
  from ar_jax import cli  # pylint: disable=import-outside-toplevel
  workdir = straight["workdir"]
  with pytest.raises(SystemExit) as e:
    cli.main(["ar-jax", "eval", f"--workdir={workdir}", "--split=test"])
  assert e.value.code in (0, None)
  res = json.load(open(os.path.join(workdir, "eval_test_best.json")))
  assert res["nll"] == straight["results"]["test_nll"] and res["step"] == 6
  out = str(tmp_path / "grid.png")
  with pytest.raises(SystemExit) as e:
    cli.main(["ar-jax", "sample", f"--workdir={workdir}", "--num_samples=9",
              f"--out={out}", "--which=latest"])
  assert e.value.code in (0, None)
  from PIL import Image  # pylint: disable=import-outside-toplevel
  assert Image.open(out).size == (16, 16)  # 3x3 grid of 4x4 samples, 1px borders.

"""Early stopping, schedules and optimizer options of the training loop."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import train_testlib
from ar_jax import configs
from ar_jax import evaluation
from ar_jax import models
from ar_jax import optim
from ar_jax import sharding
from ar_jax import steps
from ar_jax import train
from ar_jax import train_state


@pytest.fixture(autouse=True, scope="module")
def _tiny_models():  # module scope: module-scoped fixtures train with it
  with train_testlib.tiny_models():
    yield


def test_early_stopping_bookkeeping():
  p = train_state.Progress()
  assert p.record_eval(5.0, 1) and not p.out_of_patience(2)
  assert not p.record_eval(5.0, 2)  # Equal is not better.
  assert p.record_eval(4.0, 3) and p.bad_evals == 0
  assert not p.record_eval(4.5, 4) and not p.record_eval(4.1, 5) and p.out_of_patience(2)
  again = train_state.Progress.from_meta(p.to_meta())  # As restored from a checkpoint.
  assert (again.best_nll, again.best_step, again.bad_evals) == (4.0, 3, 2)
  assert again.last_eval_step == 5 and not again.out_of_patience(0)  # 0 disables.
  # A NaN/Inf eval, even the first, is never the best (it would block every later one).
  fresh = train_state.Progress()
  assert not fresh.record_eval(float("nan"), 1) and fresh.best_nll is None
  assert not fresh.record_eval(float("inf"), 2) and fresh.record_eval(7.0, 3)


def test_loop_stops_early_and_tests_the_best_checkpoint(monkeypatch, tmp_path):
  evaluate = evaluation.evaluate
  calls = []

  def worsening(exp, params, split, batches=None, **kwargs):
    res = evaluate(exp, params, split, batches, **kwargs)
    if split == "validation":
      calls.append(1)
      res["nll"] = float(len(calls))  # Every eval worse than the first.
    return res

  monkeypatch.setattr(evaluation, "evaluate", worsening)
  cfg = train_testlib.tiny_config(train__early_stopping_patience=2, eval__every_steps=1,
                                  eval__num_samples=0)
  results = train.train_and_evaluate(cfg, str(tmp_path))
  assert results["stopped_early"] and results["steps"] == 3
  assert results["best_step"] == 1 and results["test_params"] == "best@1"
  again = train.train_and_evaluate(cfg, str(tmp_path))  # Resuming does not train on.
  assert again["steps"] == 3 and len(calls) == 3


def test_schedule_warmup_then_decay():
  c = configs.default_config().optim
  c.lr, c.warmup_steps, c.schedule, c.decay_steps = 1.0, 10, "cosine", 100
  s = optim.make_schedule(c, total_updates=110)
  np.testing.assert_allclose([s(0), s(5), s(10), s(60), s(110)], [0, 0.5, 1, 0.5, 0],
                             atol=1e-6)
  c.schedule, c.decay_rate = "exponential", 0.5
  s = optim.make_schedule(c, total_updates=110)
  np.testing.assert_allclose([s(10), s(110)], [1.0, 0.5], rtol=1e-6)
  c.schedule, c.warmup_steps = "constant", 0
  np.testing.assert_allclose(optim.make_schedule(c, 10)(7), 1.0)


def test_clipping_and_accumulation():
  c = configs.default_config().optim
  c.grad_clip_norm, c.grad_accum_steps, c.lr = 1.0, 2, 0.1
  tx, _ = optim.make_optimizer(c, total_updates=10)
  params = {"w": jnp.zeros(3)}
  state = tx.init(params)
  grads = {"w": jnp.array([30.0, 40.0, 0.0])}  # Norm 50, clipped to 1.
  updates, state = tx.update(grads, state, params)
  assert not optim.did_update(tx, state) and np.all(updates["w"] == 0)
  updates, state = tx.update(grads, state, params)
  assert optim.did_update(tx, state)
  # Adam's first step moves each coordinate by ~lr in the gradient's direction.
  np.testing.assert_allclose(updates["w"], [-0.1, -0.1, 0.0], atol=1e-3)
  assert isinstance(tx, optax.MultiSteps)


def test_adagrad_matches_the_textbook_rule_and_leaves_masked_weights():
  c = configs.default_config().optim
  c.name, c.lr = "adagrad", 0.01
  tx, _ = optim.make_optimizer(c, total_updates=10)
  params = {"w": jnp.zeros(3)}
  state = tx.init(params)
  g1, g2 = jnp.array([2.0, -0.5, 0.0]), jnp.array([1.0, 1.5, 0.0])
  u1, state = tx.update({"w": g1}, state, params)
  u2, state = tx.update({"w": g2}, state, params)
  # w -= lr * g_t / sqrt(sum_{s<=t} g_s^2); a coordinate with no gradient yet
  # (a masked weight) gets exactly 0, not 0 / sqrt(eps).
  np.testing.assert_allclose(u1["w"], [-0.01, 0.01, 0.0], rtol=1e-5)
  np.testing.assert_allclose(u2["w"], -0.01 * g2 / np.sqrt(np.maximum(g1**2 + g2**2, 1e-30)) *
                             (g1**2 + g2**2 > 0), rtol=1e-5)


def test_coupled_l2_adds_l2_times_params_to_the_gradient():
  c = configs.default_config().optim
  c.name, c.lr, c.l2 = "adagrad", 0.5, 0.1
  tx, _ = optim.make_optimizer(c, total_updates=10)
  params = {"w": jnp.array([2.0, -4.0, 0.0])}
  u, _ = tx.update({"w": jnp.array([0.0, 0.0, 0.0])}, tx.init(params), params)
  # Gradient seen by Adagrad: 0 + 0.1 * w; its first step is -lr * sign(that).
  np.testing.assert_allclose(u["w"], [-0.5, 0.5, 0.0], rtol=1e-5)


@pytest.mark.parametrize("name", configs.OPTIMIZERS)
def test_every_optimizer_name_steps_against_the_gradient(name):
  c = configs.default_config().optim
  c.name = name
  tx, _ = optim.make_optimizer(c, total_updates=10)
  params, grads = {"w": jnp.array([1.0, -2.0])}, {"w": jnp.array([0.5, -0.25])}
  u, _ = tx.update(grads, tx.init(params), params)
  np.testing.assert_array_equal(np.sign(u["w"]), [-1.0, 1.0])


def test_unknown_optimizer_name_fails_naming_the_choices():
  c = configs.default_config()
  c.optim.name = "sgd"
  with pytest.raises(ValueError, match=r"config\.optim\.name='sgd'.*'adam', 'adamw', 'adagrad'"):
    configs.validate(c)
  with pytest.raises(ValueError, match=r"config\.optim\.name='sgd'"):
    optim.make_optimizer(c.optim, total_updates=10)


@pytest.mark.parametrize("k", [1, 3])
def test_one_step_per_dispatch_runs_without_a_loop(k):
  """K = 1 must not lower to a while loop (XLA:CPU runs convolutions inside
  one ~20x slower); K > 1 scans. Metrics are stacked [K] either way."""
  c = configs.default_config()
  model = models.get("made", input_shape=(4,), hidden_sizes=(8,))
  tx, schedule = optim.make_optimizer(c.optim, optim.num_updates(c))
  mesh = sharding.make_mesh()
  dummy = train_state.dummy_inputs(model, np.int32)
  abstract = train_state.abstract_state(model, tx, False, dummy)
  fn = steps.jit_train_steps(c, model, tx, schedule, train_state.state_sharding(abstract, mesh),
                             mesh)
  state = train_state.init_state(model, tx, False, jax.random.key(0), mesh, dummy)
  batch = {"x": np.ones((k, 2, 4), np.uint8)}
  hlo = fn.lower(state, batch).as_text()
  assert ("stablehlo.while" in hlo) == (k > 1)
  state, metrics = fn(state, batch)
  assert all(np.shape(v) == (k,) for v in metrics.values())
  assert int(state.step) == k

"""experiments/completion.py: the missing-half NLL under each order is a normalized
distribution of the missing pixels, seeing the observed half exactly under
observed_first; its main runs end to end on a stand-in lmconv run."""

import importlib.util
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from ar_jax import checkpoint
from ar_jax import configs
from ar_jax import experiment
from ar_jax import models
from ar_jax import train_state
from ar_jax.data import synthetic

import testlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("completion", ROOT / "experiments" / "completion.py")
completion = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(completion)


def _completions(bottom, known):
  """int [2^m, H, W, 1]: every value of the m missing pixels, `bottom` observed."""
  m = int((~known).sum())
  bits = (np.arange(2 ** m)[:, None] >> np.arange(m)) & 1
  x = np.repeat(bottom[None], 2 ** m, axis=0)
  x[:, ~known] = bits
  return x[..., None].astype(np.int32)


def test_missing_half_nll_sums_to_one_and_sees_the_observed_half_only_observed_first():
  """4x4, top 8 pixels missing, 2 S-curve symmetries: under every order
  exp(-NLL) over the 256 completions sums to 1; the NLL changes with the
  observed half under observed_first and under the bottom-to-top training order,
  not under s_curve or raster. With every pixel missing, a training order's NLL
  is the ensemble member's -log p_m(x)."""
  model = models.get("lmconv", input_shape=(4, 4, 1), num_filters=4, num_levels=1,
                     order_symmetries=2)
  variables = testlib.perturbed(model, seed=3, scale=0.3)
  known = completion.top_half_known((4, 4))
  orders = completion.order_specs(model, known)
  assert list(orders) == ["observed_first", "s_curve", "s_curve+flip_ud", "raster"]
  rng = np.random.default_rng(0)
  bottoms = rng.integers(0, 2, (2, 4, 4))
  bottoms[1, 2:] = 1 - bottoms[0, 2:]
  for name, order in orders.items():
    nll = [completion.missing_nll(model, variables, _completions(b, known), known, order, 128)
           for b in bottoms]
    for v in nll:
      np.testing.assert_allclose(jax.nn.logsumexp(-v), 0.0, atol=2e-5, err_msg=name)
    sees_observed = not np.allclose(nll[0], nll[1], rtol=0, atol=1e-6)
    assert sees_observed == (name in ("observed_first", "s_curve+flip_ud")), name

  x = np.asarray(testlib.example_input(model, 3, seed=5))
  none_known = np.zeros((4, 4), bool)
  log_prob = jax.jit(lambda m: model.apply(variables, jnp.asarray(x), order_index=m,
                                           method=model.log_prob))
  for m, order in enumerate(model.pixel_orderings()):
    got = completion.missing_nll(model, variables, x, none_known, order, 3)
    want = -log_prob(m)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_main_writes_the_json_and_the_picture_from_a_stand_in_run(tmp_path):
  cfg = configs.default_config()
  cfg.data.name = synthetic.make_name("synthetic", shape=(6, 6, 1), test=7)
  cfg.model.name = "lmconv"
  cfg.model.hparams.update(num_filters=4, num_levels=1)
  cfg.train.batch_size = cfg.eval.batch_size = 4
  exp = experiment.build(cfg)
  workdir = tmp_path / "run"
  state = experiment.init_state(exp)
  with jax.set_mesh(exp.mesh), checkpoint.Checkpointer(
      experiment.checkpoint_dirs(str(workdir))[0], max_to_keep=1, async_save=False) as ckpt:
    ckpt.save(3, state, train_state.Progress(step=3).to_meta())
  (workdir / "config.json").write_text(json.dumps(cfg.to_dict()))
  out = tmp_path / "out"
  out.mkdir()
  (out / "record.json").write_text("{}")
  info = completion.main(["--workdir", str(workdir), "--out", str(out), "--num_digits", "7",
                          "--num_samples", "2", "--num_pictured", "3", "--batch_size", "4",
                          "--attachment_of", "record.json"])
  saved = json.loads((out / "completion.json").read_text())
  assert saved == json.loads(json.dumps(info))
  assert saved["attachment_of"] == "record.json" and saved["step"] == 3
  assert saved["num_digits"] == 7 and saved["checkpoint"] == "latest"
  assert list(saved["nll_missing_nats"]) == ["observed_first", "s_curve", "raster"]
  # The JSON's numbers are those of the saved variables on the run's test digits.
  x = completion.test_images(exp, 7)
  known = completion.top_half_known((6, 6))
  orders = completion.order_specs(exp.model, known)
  variables = {"params": state.eval_params()}
  for name, order in orders.items():
    want = completion.missing_nll(exp.model, variables, x, known, order, 4).mean()
    np.testing.assert_allclose(saved["nll_missing_nats"][name], want, rtol=1e-5)
  assert saved["nll_missing_nats"]["observed_first"] > 0
  with Image.open(out / saved["picture"]) as png:
    assert png.size[0] > 100 and png.size[1] > 100
  assert saved["sampled_orders"] == ["observed_first", "s_curve"]

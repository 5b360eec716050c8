"""Every kind of data through the same trainer, evaluator and CLI.

Real-valued vectors (RNADE), token streams (random train windows, every
eval position once), a standard TFDS dataset by name (`cifar10`, a tiny
locally built copy with cifar10's features) and conditioning (`cond` batches,
class-row sample grids, config errors for a cond mismatch).
"""

import io
import json
import os

import jax
import numpy as np
from PIL import Image
import pytest

import train_testlib
from ar_jax import evaluation
from ar_jax import experiment
from ar_jax import train
from ar_jax.data import pipeline


@pytest.fixture(autouse=True, scope="module")
def _tiny_models():  # module scope: module-scoped fixtures train with it
  with train_testlib.tiny_models():
    yield


def _quick(**overrides):
  base = dict(train__num_steps=4, optim__decay_steps=4, eval__every_steps=4,
              train__checkpoint_every_steps=4)
  base.update(overrides)
  return train_testlib.tiny_config(**base)


def _nonzero_params(exp, state, scale=0.3):
  leaves, tree = jax.tree.flatten(state.params)
  keys = jax.random.split(jax.random.key(1), len(leaves))
  return jax.tree.unflatten(tree, [p + scale * jax.random.normal(k, p.shape, p.dtype)
                                   for p, k in zip(leaves, keys)])


# ---- real-valued vectors ----

def test_rnade_trains_and_evaluates_on_real_valued_data(tmp_path):
  c = _quick(data__name=train_testlib.synthetic_data("synthetic_real", shape=(4,)),
             data__binarization="none", model__name="rnade",
             model__hparams__hidden_size=8, model__hparams__num_components=2)
  exp = experiment.build(c)
  assert exp.data.dtype == np.float32 and exp.data.num_classes is None
  assert exp.dummy[0].dtype == np.float32  # Init from the data's dtype, not int32.
  results = train.train_and_evaluate(c, str(tmp_path))
  assert results["steps"] == 4 and np.isfinite(results["test_nll"])
  assert results["test_examples"] == 19
  losses = train_testlib.train_losses(str(tmp_path))
  assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
  with jax.set_mesh(exp.mesh):
    params = experiment.init_state(exp).params
    res = evaluation.evaluate(exp, params, "test")
  x = pipeline.load_split(c.data, "test")["x"]
  assert x.dtype == np.float32
  direct = -np.mean(np.asarray(exp.model.apply({"params": params}, x, method="log_prob"),
                               np.float64))
  np.testing.assert_allclose(res["nll"], direct, rtol=1e-5)


def test_real_valued_data_refuses_a_binarization():
  c = _quick(data__name=train_testlib.synthetic_data("synthetic_real", shape=(4,)),
             model__name="rnade")  # data.binarization defaults to "fixed".
  with pytest.raises(ValueError, match=r"config\.data\.binarization='fixed'.*real-valued.*'none'"):
    experiment.build(c)


# ---- token streams ----

def _stream_config(**kw):
  base = dict(data__name=train_testlib.synthetic_data(
                  "synthetic_tokens", classes=5, train=500, validation=37, test=29),
              data__binarization="none", data__seq_len=8)
  base.update(kw)
  return _quick(**base)


def test_stream_eval_scores_every_token_once_and_matches_a_direct_sum():
  c = _stream_config()
  exp = experiment.build(c)
  assert tuple(exp.model.input_shape) == (8,) and exp.data.num_classes == 5
  with jax.set_mesh(exp.mesh):
    params = _nonzero_params(exp, experiment.init_state(exp))
    res = evaluation.evaluate(exp, params, "validation")
  assert res["num_tokens"] == res["num_examples"] == 37
  # Reference: windows [0, 8), [8, 16), ..., and [29, 37) scoring only 32..36.
  tokens = pipeline.load_split(c.data, "validation")["x"]
  total = 0.0
  for start, first_new in [(0, 0), (8, 8), (16, 16), (24, 24), (29, 32)]:
    w = tokens[start:start + 8][None]
    out = exp.model.apply({"params": params}, w)
    logp = np.asarray(exp.model.distribution.log_prob(out, w), np.float64)[0]
    total += logp[first_new - start:].sum()
  np.testing.assert_allclose(res["nll"], -total / 37, rtol=1e-6)
  np.testing.assert_allclose(res["bpd"], -total / 37 / np.log(2), rtol=1e-6)


def test_stream_training_runs_and_needs_seq_len(tmp_path):
  results = train.train_and_evaluate(_stream_config(), str(tmp_path))
  assert results["test_tokens"] == 29 and np.isfinite(results["test_nll"])
  with pytest.raises(ValueError, match=r"config\.data\.seq_len"):
    experiment.build(_stream_config(data__seq_len=0))


# ---- a standard TFDS dataset by name ----

def _build_fake_cifar10(data_dir):
  """cifar10's TFDS features (id, 32x32x3 PNG image, label), a few dozen examples."""
  tfds = pytest.importorskip("tensorflow_datasets")

  class FakeCifar10(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    name = "cifar10"
    VERSION = tfds.core.Version("3.0.2")

    def _info(self):
      return tfds.core.DatasetInfo(builder=self, disable_shuffling=True,
                                   features=tfds.features.FeaturesDict({
                                       "id": tfds.features.Text(),
                                       "image": tfds.features.Image(shape=(32, 32, 3)),
                                       "label": tfds.features.ClassLabel(num_classes=10)}))

    def _split_generators(self, dl_manager):
      del dl_manager
      return {"train": self._generate_examples(0, 24),
              "test": self._generate_examples(1, 10)}

    def _generate_examples(self, seed, n):
      rng = np.random.default_rng(seed)
      for i in range(n):
        img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        yield i, {"id": f"{seed}_{i}", "image": buf.getvalue(), "label": i % 10}

  FakeCifar10(data_dir=data_dir, file_format="array_record").download_and_prepare()
  return np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)[0]


def test_cifar10_by_name_trains_end_to_end(tmp_path):
  from ar_jax import data  # pylint: disable=import-outside-toplevel
  data_dir = str(tmp_path / "data")
  first = _build_fake_cifar10(data_dir)
  spec = data.get_spec("cifar10", data_dir=data_dir)
  assert spec.input_shape == (32, 32, 3) and spec.num_classes == 256
  assert spec.feature("label").num_classes == 10
  arrays = data.load_split("cifar10", "train", data_dir=data_dir)
  np.testing.assert_array_equal(arrays["image"][0], first)  # PNG round trip, source order.
  np.testing.assert_array_equal(arrays["label"][:12], np.arange(12) % 10)
  c = _quick(data__name="cifar10", data__data_dir=data_dir, data__binarization="threshold",
             data__train_split="train[:16]", data__eval_split="train[16:]",
             model__name="made", model__hparams__hidden_sizes=(8,),
             model__hparams__input_shape=(3072,), eval__num_samples=0)
  results = train.train_and_evaluate(c, str(tmp_path / "run"))
  assert results["test_examples"] == 10 and np.isfinite(results["test_nll"])
  assert results["best_validation_nll"] is not None


# ---- conditioning ----

def test_label_conditional_training_and_class_row_samples(tmp_path):
  from ar_jax import cli  # pylint: disable=import-outside-toplevel
  c = _quick(data__cond_feature="label", model__name="tiny_cond_ar")
  exp = experiment.build(c)
  assert exp.model.cond_classes == 8  # The synthetic label's class count.
  results = train.train_and_evaluate(c, str(tmp_path))
  assert np.isfinite(results["test_nll"])
  # The eval split's cond changes the NLL: the labels are really passed on.
  with jax.set_mesh(exp.mesh):
    params = _nonzero_params(exp, experiment.init_state(exp), scale=1.0)
    res = evaluation.evaluate(exp, params, "test")
    batches = exp.batches("test", train=False)
    batches.arrays["cond"] = (batches.arrays["cond"] + 1) % 8
    shuffled = evaluation.evaluate(exp, params, "test", batches)
  assert abs(res["nll"] - shuffled["nll"]) > 1e-3
  out = str(tmp_path / "grid.png")
  with pytest.raises(SystemExit) as e:
    cli.main(["ar-jax", "sample", f"--workdir={tmp_path}", "--num_samples=16",
              f"--out={out}", "--which=latest"])
  assert e.value.code in (0, None)
  # One row per class (8), ceil(16 / 8) = 2 columns of 4x4 samples, 1px borders.
  assert Image.open(out).size == (2 * 5 + 1, 8 * 5 + 1)
  saved = json.load(open(os.path.join(tmp_path, "config.json")))
  assert saved["data"]["cond_feature"] == "label"


def test_feature_sequence_cond_is_windowed_with_the_tokens(tmp_path):
  c = _stream_config(data__cond_feature="phase", model__name="tiny_cond_ar")
  exp = experiment.build(c)
  assert exp.data.cond.shape == (8, 2) and exp.model.cond_size == 16
  results = train.train_and_evaluate(c, str(tmp_path))
  assert results["test_tokens"] == 29 and np.isfinite(results["test_nll"])
  with jax.set_mesh(exp.mesh):
    params = _nonzero_params(exp, experiment.init_state(exp), scale=1.0)
    res = evaluation.evaluate(exp, params, "validation")
    batches = exp.batches("validation", train=False)
    batches.arrays["cond"] = -batches.arrays["cond"]
    flipped = evaluation.evaluate(exp, params, "validation", batches)
  assert res["num_tokens"] == 37 and abs(res["nll"] - flipped["nll"]) > 1e-3
  with pytest.raises(ValueError, match="modelled feature itself"):
    experiment.build(_stream_config(data__cond_feature="tokens", model__name="tiny_cond_ar"))
  x, cond = pipeline.model_inputs({"x": np.zeros((2, 8), np.int32),
                                   "cond": np.ones((2, 8, 2), np.float64)},
                                  None, "none", (8,))
  assert x.dtype == np.int32 and cond.dtype == np.float32


def test_cond_mismatch_is_a_config_error_naming_data_cond_feature():
  conditional = _quick(model__name="tiny_cond_ar", model__hparams__cond_classes=8)
  with pytest.raises(ValueError, match=r"config\.data\.cond_feature is None.*cond_classes=8"):
    experiment.build(conditional)
  unconditional = _quick(data__cond_feature="label")  # tiny_ar takes no cond.
  with pytest.raises(ValueError, match=r"config\.data\.cond_feature='label'.*takes none"):
    experiment.build(unconditional)
  wrong = _quick(data__cond_feature="label", model__name="tiny_cond_ar",
                 model__hparams__cond_classes=10)
  with pytest.raises(ValueError, match=r"cond_classes=10.*8 classes"):
    experiment.build(wrong)
  with pytest.raises(ValueError, match=r"config\.data\.cond_feature='digit'.*'label'"):
    experiment.build(_quick(data__cond_feature="digit", model__name="tiny_cond_ar"))

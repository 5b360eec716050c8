"""Bad configs fail at launch, naming the key, the value and what was expected."""

import glob
import os
import types

from absl import flags
from ml_collections import config_flags
import numpy as np
import pytest

import train_testlib
from ar_jax import configs
from ar_jax import experiment
from ar_jax import main as launcher
from ar_jax import sharding
from ar_jax.data import pipeline
from ar_jax.data import specs
from ar_jax.data import synthetic
from ar_jax.models import from_config


@pytest.fixture(autouse=True, scope="module")
def _tiny_models():  # module scope: module-scoped fixtures train with it
  with train_testlib.tiny_models():
    yield


MADE_CONFIG = os.path.join(train_testlib.ROOT, "experiments", "configs", "made_mnist.py")
FVSBN_CONFIG = os.path.join(train_testlib.ROOT, "experiments", "configs", "fvsbn_mnist.py")


def _parse(*args, path=MADE_CONFIG, variant=":cpu"):
  argv = ["prog", f"--config={path}{variant}", *args]
  fv = flags.FlagValues()
  # sys_argv: config_flags defines the --config.* override flags from it.
  config_flags.DEFINE_config_file("config", None, "", flag_values=fv, lock_config=True,
                                  sys_argv=argv)
  launcher.parse_flags(argv, fv)
  return fv.config


def test_override_and_variant():
  c = _parse("--config.optim.lr=0.01", "--config.model.hparams.hidden_sizes=(64,)")
  assert c.optim.lr == 0.01 and tuple(c.model.hparams.hidden_sizes) == (64,)
  assert c.train.num_steps == 6000  # The cpu variant.
  configs.validate(c)


def test_unknown_key_fails_naming_it():
  with pytest.raises(flags.Error, match=r"unknown config key 'config\.optim\.bogus'"):
    _parse("--config.optim.bogus=1")
  with pytest.raises(flags.Error, match=r"config\.model\.hparams\.hiden_sizes"):
    _parse("--config.model.hparams.hiden_sizes=(3,)")


def test_wrong_type_fails_naming_it():
  with pytest.raises(flags.Error, match=r"--config\.optim\.lr=abc"):
    _parse("--config.optim.lr=abc")
  with pytest.raises(flags.Error, match=r"--config\.train\.batch_size=1\.5"):
    _parse("--config.train.batch_size=1.5")
  c = configs.default_config()
  with pytest.raises(TypeError, match="batch_size"):
    c.train.batch_size = "100"


def test_unknown_variant_fails():
  with pytest.raises(Exception, match="unknown config variant 'gpu'"):
    _parse(variant=":gpu")


@pytest.mark.parametrize("key,value,expected", [
    ("data.binarization", "otsu", "one of"),
    ("optim.schedule", "linear", "one of"),
    ("optim.ema_decay", 1.0, r"in \[0, 1\)"),
    ("optim.l2", -1e-4, ">= 0"),
    ("train.num_steps", 7, "multiple of optim.grad_accum_steps=2"),
    # A cosine to 0 over 1 update (an exponential config's decay_steps=1 left
    # in place) would train at lr 0 after step 1.
    ("optim.decay_steps", 1, "lr = 0 for the last 3 of the 4 updates"),
])
def test_bad_values_fail_naming_the_key(key, value, expected):
  c = train_testlib.tiny_config(optim__grad_accum_steps=2, train__num_steps=8)
  train_testlib.apply_overrides(c, {key: value})
  with pytest.raises(ValueError, match=rf"config\.{key}={value!r}.*{expected}"):
    configs.validate(c)


def test_unknown_model_hparam_fails_naming_it():
  c = train_testlib.tiny_config()
  c.model.hparams.hidden = 3
  with pytest.raises(ValueError, match=r"config\.model\.hparams.*\['hidden'\]"):
    experiment.build(c)


def test_model_shape_must_keep_element_count():
  c = train_testlib.tiny_config()
  c.model.hparams.input_shape = (15,)
  with pytest.raises(ValueError, match=r"config\.model\.hparams\.input_shape=\(15,\).*16"):
    experiment.build(c)


def test_binarization_must_fit_the_data():
  c = train_testlib.tiny_config(data__binarization="dynamic")  # Binary synthetic data.
  with pytest.raises(ValueError, match=r"config\.data\.binarization='dynamic'"):
    experiment.build(c)


def test_synthetic_data_is_sized_by_its_name():
  name = synthetic.make_name(shape=(2, 3, 1), classes=5, test=7)
  spec = pipeline.data_info(train_testlib.tiny_config(data__name=name,
                                                     data__binarization="none").data).spec
  assert spec.input_shape == (2, 3, 1) and spec.num_classes == 5
  assert spec.splits == {"train": 1000, "validation": 200, "test": 7}  # Others: defaults.
  c = train_testlib.tiny_config(data__name="synthetic:shape=4x4x1,clases=256")
  with pytest.raises(ValueError, match=r"data\.name='synthetic:shape=4x4x1,clases=256'.*"
                     r"option 'clases'.*classes=K"):
    pipeline.data_info(c.data)


def test_batch_not_divisible_by_devices_fails():
  mesh = types.SimpleNamespace(devices=np.empty((8,), object))
  with pytest.raises(ValueError, match=r"config\.train\.batch_size=12 must be divisible "
                     r"by the number of devices \(8"):
    sharding.check_batch_size(12, mesh, "train.batch_size")
  sharding.check_batch_size(16, mesh, "train.batch_size")


ALL_CONFIGS = sorted(p for p in glob.glob(os.path.join(train_testlib.ROOT, "experiments",
                                                      "configs", "*.py"))
                     if os.path.basename(p) != "common.py")  # Protocols, not a config.
# Configs whose argument is not a variant name: two of their settings each.
CONFIG_ARGS = {"mnist_images.py": ("pixelcnn_pp,fashion_mnist", "gated_pixelcnn,mnist_8bit,cpu"),
               "binarized_mnist_dynamic.py": ("pixelcnn", "transformer,cpu")}
CONFIG_CASES = [(path, arg) for path in ALL_CONFIGS
                for arg in CONFIG_ARGS.get(os.path.basename(path), ("", "cpu"))]


@pytest.mark.parametrize("path,variant", CONFIG_CASES,
                         ids=[f"{a}-{os.path.basename(p)}" for p, a in CONFIG_CASES])
def test_experiment_configs_validate_and_build_their_model(path, variant):
  c = configs.validate(_parse(path=path, variant=f":{variant}" if variant else ""))
  # What the config's dataset gives the model, without reading the data.
  try:
    info = pipeline.data_info(c.data)
  except specs.DatasetNotPreparedError:
    # A standard TFDS dataset that cannot be fetched here (cifar10): those
    # configs train for two steps on a locally built stand-in instead
    # (tests/test_image_configs.py, tests/test_pixelcnn_pp.py).
    pytest.skip(f"dataset {c.data.name!r} is not prepared on this machine")
  model = from_config.from_config(c.model, info)  # Every hparam is accepted.
  assert model.num_dims == np.prod(info.shape)  # Reshaped, never resized.
  assert getattr(model, "cond_classes", 0) == (10 if c.data.cond_feature == "label" else 0)

"""The image-model experiment configs: every variant builds, and each CIFAR-10
config, cut to two steps of a tiny model, trains, evaluates and samples end to
end on a tiny locally built stand-in of TFDS `cifar10` (the code path of a pod
run)."""

import os

import numpy as np
import pytest

import train_testlib
from ar_jax import configs
from ar_jax import models
from ar_jax import train

from test_train_data_kinds import _build_fake_cifar10  # pylint: disable=unused-import

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "experiments", "configs")
VARIANTS = {"pixelcnn_mnist.py": ("", "cpu"),
            "gated_pixelcnn_mnist_class_cond.py": ("", "cpu"),
            "pixelcnn_cifar10.py": ("", "cpu"),
            "gated_pixelcnn_cifar10.py": ("", "cpu"),
            "diagonal_bilstm_mnist.py": ("", "cpu"),
            "diagonal_bilstm_cifar10.py": ("", "cpu"),
            "lmconv_mnist.py": ("", "cpu", "1order", "1order,cpu"),
            "lmconv_cifar10.py": ("", "1order", "cpu", "1order,cpu"),
            "pixelsnail_mnist.py": ("", "cpu"),
            "pixelsnail_cifar10.py": ("", "cpu"),
            "row_lstm_mnist.py": ("", "cpu"),
            "row_lstm_cifar10.py": ("", "cpu")}
# Tiny models of the CIFAR-10 configs, for two training steps.
TINY = {"pixelcnn_cifar10.py": dict(num_blocks=1, residual_channels=3, head_channels=3),
        "gated_pixelcnn_cifar10.py": dict(num_layers=1, channels=3, head_channels=3),
        "diagonal_bilstm_cifar10.py": dict(num_layers=1, hidden_channels=3, head_channels=3),
        "lmconv_cifar10.py": dict(num_filters=4, num_resnet=1, num_levels=1, num_mixtures=2,
                                  order_symmetries=2),
        "row_lstm_cifar10.py": dict(num_layers=1, hidden_channels=3, head_channels=3)}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_builds_its_model(name):
  for variant in VARIANTS[name]:
    c = configs.validate(configs.load(os.path.join(CONFIGS, name), variant))
    hp = c.model.hparams.to_dict()
    if c.data.cond_feature == "label":
      hp["cond_classes"] = 10  # what from_config fills in from the data
    model = models.get(c.model.name, **hp)
    assert len(model.input_shape) == 3 and tuple(model.input_shape) in ((28, 28, 1),
                                                                         (32, 32, 3))
  with pytest.raises(ValueError, match="unknown config variant 'gpu'"):
    configs.load(os.path.join(CONFIGS, name), "gpu")


@pytest.mark.parametrize("name", sorted(TINY))
def test_cifar10_config_runs_two_steps_on_a_stand_in(name, tmp_path):
  data_dir = str(tmp_path / "data")
  _build_fake_cifar10(data_dir)
  c = train_testlib.two_step_run(configs.load(os.path.join(CONFIGS, name)), **TINY[name])
  # The stand-in has 24 train and 10 test images.
  c.data.data_dir = data_dir
  c.data.train_split, c.data.eval_split = "train[:16]", "train[16:]"
  results = train.train_and_evaluate(c, str(tmp_path / "run"))
  assert results["steps"] == 2 and results["test_examples"] == 10
  assert np.isfinite(results["test_nll"]) and np.isfinite(results["best_validation_nll"])
  # 256-way pixels: an untrained model is near 8 bits/dim (ln 256 nats per dim).
  assert 4.0 < results["test_nll"] / 3072 < 7.0
  assert os.path.exists(tmp_path / "run" / "samples.png")


def test_mnist_images_grid_builds_every_model_on_every_set():
  """`mnist_images.py:MODEL,DATA[,cpu]`: the model's own MNIST config on another
  set; unconditional; Fashion-MNIST holds out the last 10k training images."""
  path = os.path.join(CONFIGS, "mnist_images.py")
  for model_name in ("pixelcnn", "gated_pixelcnn", "pixelcnn_pp", "row_lstm", "diagonal_bilstm",
                     "pixelsnail"):
    for data in ("binarized_mnist", "mnist_8bit", "fashion_mnist"):
      for variant in ("", ",cpu"):
        c = configs.validate(configs.load(path, f"{model_name},{data}{variant}"))
        assert (c.model.name, c.data.name, c.data.cond_feature) == (model_name, data, None)
        assert c.data.binarization == ("fixed" if data == "binarized_mnist" else "none")
        models.get(c.model.name, **c.model.hparams.to_dict())
  c = configs.load(path, "pixelcnn_pp,fashion_mnist,cpu")
  assert (c.data.train_split, c.data.eval_split, c.data.test_split) == (
      "train[:50000]", "train[50000:50500]", "test[:2000]")
  for bad, match in (("pixelcnn", "MODEL,DATA"), ("made,mnist_8bit", "model 'made'"),
                     ("pixelcnn,cifar10", "dataset 'cifar10'"),
                     ("pixelcnn,mnist_8bit,gpu", "MODEL,DATA")):
    with pytest.raises(ValueError, match=match):
      configs.load(path, bad)

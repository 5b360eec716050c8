"""The registry of ar_jax datasets: `DATASETS`, name -> `DatasetSpec`.

Every dataset registers here and only here. The image sets are declared in
this file; the others come from their modules' read side (`shakespeare`,
`speech`, `uci`), which import nothing that fetches or builds data: that
code (`sources`, `builders`, `text_builder`, `speech_build`, `uci_build`,
`rda`) is reached only through `ar_jax.data.prepare`.
"""

from ar_jax.data import shakespeare
from ar_jax.data import specs
from ar_jax.data import speech
from ar_jax.data import uci

_MNIST_SPLITS = {"train": 50000, "validation": 10000, "test": 10000}
# Fashion-MNIST ships 60k/10k; "validation" is the LAST 10k of the official
# train split, so it overlaps "train". Hold it out with split="train[:50000]".
_FASHION_SPLITS = {"train": 60000, "validation": 10000, "test": 10000}
_FASHION_ALIASES = {"validation": "train[50000:]"}
_NOT_COMPARABLE = (
    "NLLs under fixed, dynamic and threshold binarization are different "
    "benchmarks and must not be compared with each other.")

DATASETS = {
    "binarized_mnist": specs.DatasetSpec(
        name="binarized_mnist", features=specs.image_features(2),
        splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k (Theano mnist.pkl.gz split), binarized ONCE: "
            "pixel ~ Bernoulli(k/256) with numpy.random.default_rng([0, s]) "
            "(PCG64), s = 0/1/2 for train/validation/test. " + _NOT_COMPARABLE),
        preprocessing="fixed", tfds_name="ar_jax_binarized_mnist"),
    "binarized_mnist_thresholded": specs.DatasetSpec(
        name="binarized_mnist_thresholded", features=specs.image_features(2),
        splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k thresholded: pixel = intensity >= 0.5 "
            "(k >= 128), derived on load from mnist_8bit. " + _NOT_COMPARABLE),
        preprocessing="threshold", tfds_name="ar_jax_mnist_8bit"),
    "mnist_8bit": specs.DatasetSpec(
        name="mnist_8bit", features=specs.image_features(256),
        splits=dict(_MNIST_SPLITS),
        description=(
            "MNIST 50k/10k/10k, uint8 pixels k = round(256 * x), lossless. "
            "Source for dynamic binarization (ar_jax.data.binarize)."),
        tfds_name="ar_jax_mnist_8bit"),
    "fashion_mnist": specs.DatasetSpec(
        name="fashion_mnist", features=specs.image_features(256),
        splits=dict(_FASHION_SPLITS),
        description=(
            "Fashion-MNIST (Zalando, MIT) 60k/10k, uint8 0..255. 'validation' "
            "is train[50000:] (a subset of train); use split='train[:50000]' "
            "to hold it out."),
        tfds_name="ar_jax_fashion_mnist", split_aliases=dict(_FASHION_ALIASES)),
    "binarized_fashion_mnist": specs.DatasetSpec(
        name="binarized_fashion_mnist", features=specs.image_features(2),
        splits=dict(_FASHION_SPLITS),
        description=(
            "Fashion-MNIST binarized ONCE: pixel ~ Bernoulli(k/256) with "
            "numpy.random.default_rng([0, s]), s = 0/2 for train/test; "
            "'validation' is train[50000:]. " + _NOT_COMPARABLE),
        preprocessing="fixed", tfds_name="ar_jax_binarized_fashion_mnist",
        split_aliases=dict(_FASHION_ALIASES)),
}


def real_vector_spec(name, num_dims, splits, description, loader):
  """A real-valued vector dataset: one float32 feature `x` of shape (D,).

  Real-valued data take preprocessing "none" (identity); any standardization
  belongs to the loader, which is documented with the dataset.
  """
  return specs.DatasetSpec(
      name=name, features=(specs.Feature("x", "float32", (int(num_dims),)),),
      splits=dict(splits), description=description, x="x",
      preprocessing="none", source=loader)



for _name, _u in uci.DATASETS.items():
  DATASETS[_name] = real_vector_spec(_name, _u.num_dims, _u.splits, _u.description,
                                     loader="ar_jax.data.uci:load_split")
for _module in (shakespeare, speech):
  DATASETS[_module.NAME] = _module.spec()

r"""The convolutional image models on the three 28x28 sets: one config, a grid.

`--config=experiments/configs/mnist_images.py:MODEL,DATA[,cpu]` with

- MODEL: `pixelcnn`, `gated_pixelcnn` (unconditional), `pixelcnn_pp`,
  `row_lstm`, `diagonal_bilstm` or `pixelsnail`;
- DATA: `binarized_mnist` (fixed binarization, 2 classes: NLL in nats),
  `mnist_8bit` or `fashion_mnist` (256 levels per pixel: bits/dim).

The model, optimizer and schedule are those of the model's own MNIST config
(`pixelcnn_mnist.py`, `gated_pixelcnn_mnist_class_cond.py` without the label,
`pixelcnn_pp_mnist_8bit.py`, `row_lstm_mnist.py`, `diagonal_bilstm_mnist.py`,
`pixelsnail_mnist.py`), full or `:cpu`; only the data changes, and the class count follows the
data. No paper row (the papers' MNIST row, binarized MNIST for PixelCNN, is `pixelcnn_mnist.py`).
E.g.

  ar-jax prepare fashion_mnist   # once
  python -m ar_jax.main \
      --config=experiments/configs/mnist_images.py:pixelcnn,fashion_mnist,cpu \
      --workdir=runs/pixelcnn_fashion_cpu
"""

from ar_jax import configs

MODELS = {
    "pixelcnn": "pixelcnn_mnist.py",
    "gated_pixelcnn": "gated_pixelcnn_mnist_class_cond.py",
    "pixelcnn_pp": "pixelcnn_pp_mnist_8bit.py",
    "row_lstm": "row_lstm_mnist.py",
    "diagonal_bilstm": "diagonal_bilstm_mnist.py",
    "pixelsnail": "pixelsnail_mnist.py",
}
# Dataset -> binarization. Fashion-MNIST has no validation split of its own:
# its last 10k training images are held out (see `_split`).
DATASETS = {"binarized_mnist": "fixed", "mnist_8bit": "none", "fashion_mnist": "none"}


def _parse(arg):
  parts = [p.strip() for p in (arg or "").split(",")]
  usage = ("expected MODEL,DATA[,cpu] with MODEL in "
           f"{sorted(MODELS)} and DATA in {sorted(DATASETS)}, e.g. "
           "--config=experiments/configs/mnist_images.py:pixelcnn,mnist_8bit,cpu")
  if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "cpu"):
    raise ValueError(f"mnist_images.py: config argument {arg!r} is invalid: {usage}")
  model, data = parts[:2]
  if model not in MODELS:
    raise ValueError(f"mnist_images.py: model {model!r} is unknown: {usage}")
  if data not in DATASETS:
    raise ValueError(f"mnist_images.py: dataset {data!r} is unknown: {usage}")
  return model, data, parts[2] if len(parts) == 3 else ""


def get_config(arg=None):
  model, data, variant = _parse(arg)
  c = configs.load_sibling(__file__, MODELS[model], variant)
  c.data.cond_feature = None  # Unconditional, whatever the model's config did.
  c.eval.num_samples = 16
  c.data.name = data
  c.data.binarization = DATASETS[data]
  for key in ("train_split", "eval_split", "test_split"):
    c.data[key] = _split(data, c.data[key])
  return c


def _split(data, split):
  """`split` of the MNIST configs ("validation[:500]", ...) on dataset `data`.

  A config's first-N subset is kept (PixelCNN++ :cpu scores the first 500
  validation / 2000 test images to fit its budget).
  """
  if data != "fashion_mnist" or split.startswith("test"):
    return split
  name, _, sub = split.partition("[")
  n = int(sub.strip("]:")) if sub else 10_000
  return "train[:50000]" if name == "train" else f"train[50000:{50000 + n}]"

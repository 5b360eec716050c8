r"""The binarized-MNIST models under pytorch-generative's dynamic protocol.

`--config=experiments/configs/binarized_mnist_dynamic.py:MODEL[,cpu]` with
MODEL one of `MODELS`: the model, optimizer and schedule of the model's own
binarized-MNIST config (full or `:cpu`), unconditional, on
`common.dynamic_mnist_protocol`: every image a fresh Bernoulli(k/256) draw
each time it is read, all 60k training images, the test NLL the mean over
`eval.test_draws` draws of the test set, scored with the last step's params.
Paper column: pytorch-generative's README (experiments/PAPER_NUMBERS.md,
ids `pg-*-dynamic`). E.g.

  ar-jax prepare mnist_8bit   # once
  python -m ar_jax.main \
      --config=experiments/configs/binarized_mnist_dynamic.py:pixelcnn,cpu \
      --workdir=runs/pixelcnn_dynamic_cpu
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")

MODELS = {
    "nade": "nade_mnist.py",
    "made": "made_mnist.py",
    "pixelcnn": "pixelcnn_mnist.py",
    "gated_pixelcnn": "gated_pixelcnn_mnist_class_cond.py",
    "transformer": "transformer_mnist.py",
    "pixelsnail": "pixelsnail_mnist.py",
}


def _parse(arg):
  parts = [p.strip() for p in (arg or "").split(",")]
  usage = (f"expected MODEL[,cpu] with MODEL in {sorted(MODELS)}, e.g. "
           "--config=experiments/configs/binarized_mnist_dynamic.py:pixelcnn,cpu")
  if len(parts) not in (1, 2) or parts[0] not in MODELS or (
      len(parts) == 2 and parts[1] != "cpu"):
    raise ValueError(f"binarized_mnist_dynamic.py: config argument {arg!r} is invalid: "
                     f"{usage}")
  return parts[0], parts[1] if len(parts) == 2 else ""


def get_config(arg=None):
  model, variant = _parse(arg)
  c = configs.load_sibling(__file__, MODELS[model], variant)
  c.data.cond_feature = None  # Unconditional, whatever the model's config did.
  return common.dynamic_mnist_protocol(c, variant)

r"""Class-conditional MADE 784-500-784 on binarized MNIST: p(x | digit).

The model of `made_mnist.py` (1 hidden layer of 500 ReLU units, 1 mask,
direct connections, Adam, fixed binarization, 50k/10k/10k, early stopping on
validation NLL) with the digit label as `cond`: `data.cond_feature="label"`
makes every batch carry the label, and the model's `cond_classes` defaults to
the label's 10 classes (a one-hot of the label feeds the hidden layer and the
outputs). Not a paper-table row: it shows conditioning end to end. The sample
grid (`samples.png`, `ar-jax sample`) has one row per digit, 0 at the top.

  python -m ar_jax.main --config=experiments/configs/made_mnist_class_cond.py \
      --workdir=runs/made_mnist_class_cond

CPU variant (same model, 12 epochs, as `made_mnist.py:cpu`; 10 x 10 grid):

  python -m ar_jax.main --config=experiments/configs/made_mnist_class_cond.py:cpu \
      --workdir=runs/made_mnist_class_cond_cpu

Prepare the data once with `ar-jax prepare binarized_mnist`.
"""

from ar_jax import configs


def get_config(arg=None):
  c = configs.load_sibling(__file__, "made_mnist.py", arg)
  c.data.cond_feature = "label"  # The digit 0..9: cond_classes defaults to 10.
  c.eval.num_samples = 100  # 10 rows (one per digit) x 10 samples.
  return c

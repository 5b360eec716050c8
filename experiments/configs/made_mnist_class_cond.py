r"""Class-conditional MADE 784-500-784 on binarized MNIST: p(x | digit).

No paper row: it shows conditioning end to end. The model and protocol of
`made_mnist.py` with the digit label as `cond`: `data.cond_feature="label"`
makes every batch carry the label, and the model's `cond_classes` defaults to
the label's 10 classes (a one-hot of the label feeds the hidden layer and the
outputs). The sample grid (`samples.png`, `ar-jax sample`) has one row per
digit, 0 at the top.

  python -m ar_jax.main --config=experiments/configs/made_mnist_class_cond.py \
      --workdir=runs/made_mnist_class_cond

`:cpu`: the budget of `made_mnist.py:cpu`, a 10 x 10 grid:

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

r"""DeepNADE (order-agnostic NADE), 2 hidden layers of 500 ReLUs, binarized MNIST.

Paper rows: Uria, Murray & Larochelle (ICML 2014), "A Deep and Tractable
Density Estimator", binarized-MNIST table, row "EoNADE, 2 hidden layers",
under 1 ordering and as the ensemble of 128 orderings (paper values:
experiments/PAPER_NUMBERS.md).

As the authors' MNIST command: 2 x 500 units, lr 0.001, mini-batch 100, 200
"epochs" of 100 updates (20,000 updates). Not the same:
- Adam (lr 1e-3, 500 warmup steps, cosine decay to 0 over the 20,000 steps)
  instead of SGD with momentum 0.9, which ar_jax does not offer;
- no layer-wise pre-training;
- the validation NLL is exact under 1 ordering (`num_orderings=1`), not an
  average over 16, and there is no early stopping (a fixed budget, as the
  authors ran).

An exact log-likelihood takes D = 784 steps per ordering
(ar_jax/models/deepnade.py), so evals run every 2,000 steps. The parameters
do not depend on `num_orderings`: for the 128-ordering row, re-evaluate the
trained checkpoint:

  python -m ar_jax.main --config=experiments/configs/deepnade_mnist.py \
      --workdir=runs/deepnade_mnist
  ar-jax eval --workdir=runs/deepnade_mnist --split=test \
      --config=experiments/configs/deepnade_mnist.py \
      --config.model.hparams.num_orderings=128

`:cpu`: a short annealed run (`common.cpu_budget`), `deepnade_mnist.py:cpu`.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  variant = common.parse_arg(arg)
  c = common.binarized_mnist_protocol(configs.default_config(), patience=0)

  c.model.name = "deepnade"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(784,),  # 28x28x1 flattened row-major.
      hidden_sizes=(500, 500),
      num_orderings=1,  # Exact eval: M * 784 steps per example.
      # Evaluate under random orderings, as the paper does: training sees
      # uniformly random observed subsets, among which raster-order prefixes
      # (the top rows) are rare.
      ordering="random",
  ))

  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.optim.schedule = "cosine"  # To 0 at train.num_steps.
  c.optim.warmup_steps = 500

  c.train.num_steps = 200 * 100  # The authors' 200 "epochs" of 100 updates.
  c.train.checkpoint_every_steps = 2000
  c.eval.every_steps = 2000

  if variant == "cpu":
    common.cpu_budget(c)
  return c

r"""RNADE-MoG on UCI Ionosphere, fold 0 of 10 (Uria, Murray & Larochelle 2013).

Paper row (Table 1 of the NIPS 2013 paper, test log-likelihood per example in
nats, higher is better, averaged over 10 folds): see experiments/PAPER_NUMBERS.md
section "RNADE on UCI (wp-uci)" for the values and what could be confirmed.
Data: `ar_jax.data.uci` ("ionosphere": 32 continuous attributes, 351 rows,
folds 80/10/10, standardized with each fold's train statistics).

  python -m ar_jax.data.prepare ionosphere
  python -m ar_jax.main --config=experiments/configs/rnade_ionosphere.py \
      --workdir=runs/rnade_ionosphere
  python experiments/reproduce_uci.py ionosphere   # all 10 folds, mean +- s.e.

Setup: the paper chose hidden units, components and the learning rate on the
validation part of each fold and trained with SGD (minibatches, early
stopping on validation likelihood); those details are UNCONFIRMED here (the
PDF could not be read). This config uses 50 sigmoid hidden units, 10
Gaussian components and Adam with early stopping on the validation split.
`:cpu` is a shorter budget for a smoke run.

Assumptions about the config schema (being generalized in issue 8): data
`binarization = "none"` means real values are passed through unchanged,
split names are those of `uci.load_folds`, and `eval.num_samples = 0`
because a sample grid is an image-only summary.
"""

import ml_collections

from ar_jax import configs


def uci_rnade_config(arg, *, name, num_dims, num_train):
  """The shared RNADE-on-UCI setup; `num_train` rows per epoch at batch 100."""
  variant = configs.parse_arg(arg)
  c = configs.default_config()
  c.data.name = name
  c.data.binarization = "none"
  c.data.train_split = "fold0_train"
  c.data.eval_split = "fold0_validation"
  c.data.test_split = "fold0_test"

  c.model.name = "rnade"
  c.model.hparams = ml_collections.ConfigDict(dict(
      input_shape=(num_dims,),
      hidden_size=50,
      num_components=10,
      family="gaussian",  # RNADE-MoG; "laplace" for the RNADE-MoL row
      activation="sigmoid",
  ))

  c.optim.name = "adam"
  c.optim.lr = 1e-3
  c.optim.schedule = "constant"

  steps_per_epoch = max(1, num_train // 100)
  c.train.batch_size = 100
  c.train.num_steps = 1000 * steps_per_epoch  # at most 1000 epochs
  c.train.log_every_steps = 10 * steps_per_epoch
  c.train.checkpoint_every_steps = 10 * steps_per_epoch
  c.train.early_stopping_patience = 30  # evals (of 10 epochs each)
  c.eval.every_steps = 10 * steps_per_epoch
  c.eval.batch_size = 500
  c.eval.num_samples = 0

  if variant == "cpu":
    c.train.num_steps = 100 * steps_per_epoch
    c.train.early_stopping_patience = 0
  return c


def get_config(arg=None):
  return uci_rnade_config(arg, name="ionosphere", num_dims=32, num_train=280)

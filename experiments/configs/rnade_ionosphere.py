r"""RNADE-MoG on UCI Ionosphere, fold 0 of 10.

Paper row: Uria, Murray & Larochelle (2013), "RNADE: The real-valued neural
autoregressive density-estimator", NIPS, Table 1 (test log-likelihood per
example in nats, mean over 10 folds), Ionosphere column, row "RNADE-MoG"
(paper value: experiments/PAPER_NUMBERS.md, section 7). Data:
`ar_jax.data.uci` ("ionosphere": 32 continuous attributes, 351 rows, folds
80/10/10, standardized with each fold's train statistics).

  python -m ar_jax.data.prepare ionosphere
  python -m ar_jax.main --config=experiments/configs/rnade_ionosphere.py \
      --workdir=runs/rnade_ionosphere
  python experiments/reproduce.py --table uci --rows ionosphere   # 10 folds, mean +- s.e.

Setup: 50 sigmoid hidden units, 10 Gaussian components, Adam lr 1e-3 with
coupled L2 0.1, batch 25, at most 1000 epochs with early stopping on
validation (30 evals of 10 epochs). These values were selected on the
validation parts of folds 0-2 only (experiments/results/uci/ionosphere_sweep.md);
the paper chose its own per fold. `data.binarization="none"` passes the real
values through; the split names are those of `uci.load_folds`; no sample grid
(`eval.num_samples=0`: it is an image-only summary). `:cpu`: 100 epochs, no
early stopping.
"""

import ml_collections

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def uci_rnade_config(arg, *, name, num_dims, num_train, batch_size=100):
  """The shared RNADE-on-UCI setup; an epoch is `num_train // 100` batches of 100.

  Budgets (steps, eval/checkpoint intervals) are in examples seen, so a
  `batch_size` that divides 100 gets proportionally more, smaller steps and the
  same number of evals and the same early-stopping patience in examples.
  """
  if batch_size <= 0 or 100 % batch_size:
    raise ValueError(f"uci_rnade_config: batch_size={batch_size} must divide 100 "
                     "(budgets are counted in batches of 100); use e.g. 100, 50 or 25.")
  variant = common.parse_arg(arg)
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
  c.optim.l2 = 0.1 if name == "ionosphere" else 0.0  # picked on fold-0 validation

  steps_per_epoch = max(1, num_train // 100) * (100 // batch_size)
  c.train.batch_size = batch_size
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
  # Batch 25 (8000 steps, evals every 80): selected on validation (module docstring).
  return uci_rnade_config(arg, name="ionosphere", num_dims=32, num_train=280, batch_size=25)

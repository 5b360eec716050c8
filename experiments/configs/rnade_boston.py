r"""RNADE-MoG on UCI Boston housing, fold 0 of 10.

Paper row: Uria, Murray & Larochelle (2013), "RNADE: The real-valued neural
autoregressive density-estimator", NIPS, Table 1, Boston housing column, row
"RNADE-MoG" (paper value: experiments/PAPER_NUMBERS.md, section 7; that
section also discusses the attribute count). Data: `ar_jax.data.uci`
("boston": 11 continuous attributes after removing chas, rad and tax, 506
rows, folds 80/10/10, standardized per fold).

  python -m ar_jax.data.prepare boston
  python -m ar_jax.main --config=experiments/configs/rnade_boston.py \
      --workdir=runs/rnade_boston
  python experiments/reproduce.py --table uci --rows boston   # 10 folds, mean +- s.e.

Setup of `rnade_ionosphere.py`, except: no L2 penalty (better fold-0
validation likelihood than 0.1) and batch 100 (4 steps per epoch).
"""

from ar_jax import configs

common = configs.import_sibling(__file__, "common.py")


def get_config(arg=None):
  c = configs.load_sibling(__file__, "rnade_ionosphere.py", arg)
  c.data.name = "boston"
  c.model.hparams.input_shape = (11,)
  c.optim.l2 = 0.0  # picked on fold-0 validation (0.1 was worse here)
  c.train.batch_size = 100  # Ionosphere's batch 25 was selected on Ionosphere only.
  # 400 train rows: 4 steps per epoch at batch 100 (Ionosphere has 2).
  steps_per_epoch = 4
  epochs = 100 if common.parse_arg(arg) == "cpu" else 1000
  c.train.num_steps = epochs * steps_per_epoch
  c.train.log_every_steps = 10 * steps_per_epoch
  c.train.checkpoint_every_steps = 10 * steps_per_epoch
  c.eval.every_steps = 10 * steps_per_epoch
  return c

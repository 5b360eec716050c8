r"""RNADE-MoG on UCI Boston housing, fold 0 of 10 (Uria, Murray & Larochelle 2013).

Paper row: experiments/PAPER_NUMBERS.md, section "RNADE on UCI (wp-uci)".
Data: `ar_jax.data.uci` ("boston": 11 continuous attributes after removing
chas, rad and tax, 506 rows, folds 80/10/10, standardized per fold).

  python -m ar_jax.data.prepare boston
  python -m ar_jax.main --config=experiments/configs/rnade_boston.py \
      --workdir=runs/rnade_boston
  python experiments/reproduce_uci.py boston   # all 10 folds, mean +- s.e.

Same setup and assumptions as rnade_ionosphere.py (whose docstring explains
them); only the data set differs.
"""

from ar_jax import configs


def get_config(arg=None):
  c = configs.load_sibling(__file__, "rnade_ionosphere.py", arg)
  c.data.name = "boston"
  c.model.hparams.input_shape = (11,)
  # 400 train rows: 4 steps per epoch at batch 100 (Ionosphere has 2).
  steps_per_epoch = 4
  epochs = 100 if configs.parse_arg(arg) == "cpu" else 1000
  c.train.num_steps = epochs * steps_per_epoch
  c.train.log_every_steps = 10 * steps_per_epoch
  c.train.checkpoint_every_steps = 10 * steps_per_epoch
  c.eval.every_steps = 10 * steps_per_epoch
  return c

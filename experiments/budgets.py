"""From a table row and a budget to the config a run trains.

- `full`: the row's config as is (the paper-size run);
- `cpu`: the config's `cpu` variant (about an hour on a 2-core CPU);
- `smoke`: the `cpu` variant for `SMOKE_STEPS` steps of batch `SMOKE_BATCH`,
  with small eval batches and no sample grid, so a run only proves that the
  row launches, trains, evaluates and writes its results. It reads the row's
  real data where it is prepared (a dataset of examples: the first
  `SMOKE_EXAMPLES` examples of each split), and otherwise a synthetic
  stand-in of the same shape and value count (`standin_name`), as streams
  (text, audio) always do.
"""

import re

from overrides import apply_overrides
from overrides import load_config

BUDGETS = ("smoke", "cpu", "full")
SMOKE_STEPS = 2
SMOKE_BATCH = 8
SMOKE_EXAMPLES = dict(train=64, validation=16, test=16)
# Stand-ins of datasets that are not in the ar_jax registry (standard TFDS sets).
STANDINS = {"cifar10": "synthetic:shape=32x32x3,classes=256"}
# A cond feature the stand-in lacks -> the stand-in's feature of the same kind.
STANDIN_COND = {"synthetic": "label", "synthetic_real": None, "synthetic_tokens": "phase"}


def row_config(row, budget, *, seed=0, fold=0, overrides=(), data="auto"):
  """(config, data note) of one run of `row` under `budget`.

  `fold` picks a UCI row's fold; `data` ("auto" or "standin") whether a smoke
  run may read prepared real data. The note says what a smoke run read (None
  for the other budgets).
  """
  if budget not in BUDGETS:
    raise ValueError(f"unknown budget {budget!r}; expected one of {BUDGETS}")
  config = load_config(row.config_file, row.variant(budget))
  config.seed = seed
  if row.folds:
    for key, part in (("train_split", "train"), ("eval_split", "validation"),
                      ("test_split", "test")):
      config.data[key] = f"fold{fold}_{part}"
  note = smoke(config, data) if budget == "smoke" else None
  apply_overrides(config, overrides)
  return config, note


def _head(split, n):
  """The first `n` examples of a split expression: "train[50000:60000]" -> "train[50000:50000+n]"."""
  first = split.split("+")[0]
  m = re.fullmatch(r"(\w+)\[(\d*):(\d*)\]", first)
  if m:
    start = int(m.group(2) or 0)
    return f"{m.group(1)}[{start}:{start + n}]"
  return f"{first}[:{n}]"


def _prepared_spec(data_cfg):
  """The dataset's spec if its splits are prepared (None otherwise)."""
  from ar_jax.data import pipeline  # pylint: disable=import-outside-toplevel
  from ar_jax.data import specs  # pylint: disable=import-outside-toplevel
  try:
    spec = pipeline.data_info(data_cfg).spec
    pipeline.verify(data_cfg, [data_cfg.train_split, data_cfg.eval_split, data_cfg.test_split])
  except specs.DatasetNotPreparedError:
    return None
  return spec


def standin_name(data_cfg):
  """The synthetic stand-in of `config.data`'s dataset: same shape and value count."""
  from ar_jax import data  # pylint: disable=import-outside-toplevel
  from ar_jax.data import synthetic  # pylint: disable=import-outside-toplevel
  name = data_cfg.name
  if synthetic.is_synthetic(name):
    return name
  if name in STANDINS:
    return STANDINS[name]
  if name not in data.DATASETS:
    raise ValueError(f"no synthetic stand-in for dataset {name!r}; add one to "
                     "experiments/budgets.py STANDINS")
  spec = data.DATASETS[name]
  x = spec.feature(spec.x)
  if spec.kind == "stream":
    n = max(2048, 4 * data_cfg.seq_len)
    return synthetic.make_name("synthetic_tokens", classes=x.num_classes, train=n,
                               validation=2 * data_cfg.seq_len, test=2 * data_cfg.seq_len)
  kind = "synthetic" if x.is_discrete else "synthetic_real"
  options = dict(shape=x.shape, **SMOKE_EXAMPLES)
  if x.is_discrete:
    options["classes"] = x.num_classes
  return synthetic.make_name(kind, **options)


def smoke(config, data="auto"):
  """Turns `config` into a smoke run in place; returns what data it reads."""
  spec = _prepared_spec(config.data) if data == "auto" else None
  d = config.data
  if spec is not None and spec.kind != "stream":
    if spec.tfds_name:  # Image sets: their first examples (a UCI table is small).
      for key, part in (("train_split", "train"), ("eval_split", "validation"),
                        ("test_split", "test")):
        d[key] = _head(d[key], SMOKE_EXAMPLES[part])
    note = f"real data, splits {d.train_split} / {d.eval_split} / {d.test_split} (smoke)"
  else:
    d.name = standin_name(d)
    d.train_split, d.eval_split, d.test_split = "train", "validation", "test"
    if d.cond_feature:
      d.cond_feature = STANDIN_COND[d.name.partition(":")[0]]
    note = f"stand-in {d.name} (smoke)"
  config.optim.grad_accum_steps = 1
  config.optim.warmup_steps = 0
  config.optim.decay_steps = -1
  t = config.train
  t.num_steps, t.batch_size, t.steps_per_dispatch = SMOKE_STEPS, SMOKE_BATCH, 1
  t.log_every_steps = 1
  t.checkpoint_every_steps = t.num_steps
  t.early_stopping_patience = 0
  e = config.eval
  e.every_steps, e.batch_size, e.num_samples = t.num_steps, SMOKE_BATCH, 0
  e.test_draws = min(e.test_draws, 2)
  return note

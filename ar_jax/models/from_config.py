"""`from_config(model_config, data)`: a registered model built from a config.

Hyperparameters come from `config.model.hparams`; the ones a dataset
determines default to the data's values, for the fields the model declares:

- `input_shape`: the shape of one example as served (reshaping, e.g.
  28x28x1 -> 784, is allowed; resizing is not);
- `num_classes`: the values per element after binarization (discrete data);
- `cond_classes`: the class count of a class-label `cond` (e.g. 10 digits);
- `cond_size`: the number of elements of a vector / sequence `cond`;
- `local_channels` / `local_hop` (models with local conditioning, WaveNet):
  a stream's per-position feature, [T / hop, C] per window, gives C and hop.

A model is conditional when it declares `cond_classes` or `cond_size` and one
of them is > 0. The data must then provide a `cond` (config.data.cond_feature),
and an unconditional model must not be given one; both are config errors
raised here, before anything is compiled.
"""

import math

from ar_jax import models

_COND_FIELDS = ("cond_classes", "cond_size")


def from_config(model_config, data):
  """Builds `models.get(model_config.name, **hparams)` with data defaults.

  Args:
    model_config: `config.model` (`name`, `hparams`).
    data: what the model sees (`ar_jax.data.pipeline.DataInfo`): `shape`,
      `num_classes` (None if real-valued), `cond` (a Feature or None),
      `cond_classes`, `cond_size` and `spec.name`.
  Raises:
    ValueError: naming the config key, for an unknown model or hparam, a
      shape or class count that contradicts the data, or a cond mismatch.
  """
  try:
    fields = models.hparam_names(model_config.name)
  except KeyError as e:
    raise ValueError(f"config.model.name={model_config.name!r}: {e.args[0]}") from None
  hparams = model_config.hparams.to_dict()
  hparams.setdefault("input_shape", tuple(data.shape))
  _check_shape(data.shape, hparams["input_shape"])
  if data.num_classes is not None and "num_classes" in fields:
    if hparams.setdefault("num_classes", data.num_classes) != data.num_classes:
      raise ValueError(
          f"config.model.hparams.num_classes={hparams['num_classes']} but the data "
          f"(data.name={data.spec.name!r}) has {data.num_classes} values per "
          "dimension after binarization; expected them to match (or leave "
          "num_classes unset)")
  _cond_hparams(model_config.name, fields, hparams, data)
  try:
    return models.get(model_config.name, **hparams)
  except TypeError as e:
    raise ValueError(f"config.model.hparams: {e}") from None


def _check_shape(data_shape, model_shape):
  if math.prod(data_shape) != math.prod(model_shape):
    raise ValueError(
        f"config.model.hparams.input_shape={tuple(model_shape)} has "
        f"{math.prod(model_shape)} elements but the data examples have shape "
        f"{tuple(data_shape)} ({math.prod(data_shape)} elements); expected a "
        "shape with the same number of elements")


def _cond_hparams(name, fields, hparams, data):
  """Fills cond_classes / cond_size from the data; refuses a cond mismatch."""
  declared = [f for f in _COND_FIELDS if f in fields]
  if data.cond is None:
    given = {k: hparams[k] for k in declared if hparams.get(k, 0)}
    if given:
      raise ValueError(
          f"config.data.cond_feature is None, but model {name!r} is conditional "
          f"({', '.join(f'{k}={v}' for k, v in given.items())}): it needs a `cond` "
          "input. Set config.data.cond_feature to a feature of the dataset (e.g. "
          "'label'), or set the model's cond hparams to 0")
    return
  if data.is_stream and data.cond.shape and "local_channels" in fields:
    # A per-position (or lower-rate, hop > 1) feature of a stream is a local
    # conditioning sequence [T / hop, C] for a model that takes one.
    for key, value in (("local_channels", math.prod(data.cond.shape[1:])),
                       ("local_hop", data.cond.hop)):
      if hparams.setdefault(key, value) != value:
        raise ValueError(
            f"config.model.hparams.{key}={hparams[key]} but config.data.cond_feature="
            f"{data.cond.name!r} gives {value}; expected them to match (or leave {key} unset)")
    return
  need = "cond_classes" if data.cond_classes else "cond_size"
  value = data.cond_classes or data.cond_size
  if need not in fields:
    raise ValueError(
        f"config.data.cond_feature={data.cond.name!r} gives a `cond` input, but "
        f"model {name!r} takes none of that kind (it declares no {need!r} hparam; "
        f"conditioning hparams: {declared or 'none'}). Unset config.data."
        "cond_feature, or use a model that conditions on it")
  if hparams.setdefault(need, value) != value:
    raise ValueError(
        f"config.model.hparams.{need}={hparams[need]} but config.data.cond_feature="
        f"{data.cond.name!r} has {value} {'classes' if need == 'cond_classes' else 'elements'}; "
        f"expected them to match (or leave {need} unset)")

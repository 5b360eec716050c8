"""Model registry: `get(name, **hparams)` and `names()`.

Adding a model = one file in `ar_jax/models/` defining an `ARModel` subclass
(see `ar_jax/models/base.py` for the contract) plus one line in `_REGISTRY`.
The conformance suite (`tests/test_conformance.py`) then runs on it, at the
tiny shapes and hyperparameters its entry in `tests/conformance_cases.py`
gives (a registered model without an entry fails the suite). Modules are
imported lazily, on first `get`.
"""

import dataclasses
import difflib
import importlib

from ar_jax.models.base import ARModel

# name -> "module:Class". Keep these names stable: configs refer to them.
_REGISTRY = {
    "char_rnn": "ar_jax.models.char_rnn:CharRNN",
    "deepnade": "ar_jax.models.deepnade:DeepNADE",
    "diagonal_bilstm": "ar_jax.models.diagonal_bilstm:DiagonalBiLSTM",
    "fvsbn": "ar_jax.models.fvsbn:FVSBN",
    "gated_pixelcnn": "ar_jax.models.gated_pixelcnn:GatedPixelCNN",
    "lmconv": "ar_jax.models.lmconv:LMConv",
    "made": "ar_jax.models.made:MADE",
    "nade": "ar_jax.models.nade:NADE",
    "pixelcnn": "ar_jax.models.pixelcnn:PixelCNN",
    "pixelcnn_pp": "ar_jax.models.pixelcnn_pp:PixelCNNPP",
    "pixelsnail": "ar_jax.models.pixelsnail:PixelSNAIL",
    "rnade": "ar_jax.models.rnade:RNADE",
    "row_lstm": "ar_jax.models.row_lstm:RowLSTM",
    "transformer": "ar_jax.models.transformer:Transformer",
    "wavenet": "ar_jax.models.wavenet:WaveNet",
}


def names():
  """Sorted list of registered model names."""
  return sorted(_REGISTRY)


def get_class(name):
  """Returns the model class registered under `name`."""
  if name not in _REGISTRY:
    raise KeyError(f"unknown model {name!r}; registered models: {', '.join(names())}")
  module, cls = _REGISTRY[name].split(":")
  return getattr(importlib.import_module(module), cls)


def hparam_names(name):
  """The hyperparameters model `name` accepts: its class's dataclass fields.

  The one list of a model's hyperparameters. `dataclasses.fields` leaves out
  ClassVars (such as `supports_cache`); Flax's own `parent` and `name` are
  not hyperparameters either.
  """
  return {f.name for f in dataclasses.fields(get_class(name))} - {"parent", "name"}


def get(name, **hparams):
  """Builds model `name` with `hparams` (only `input_shape` is required)."""
  cls = get_class(name)
  fields = hparam_names(name)
  unknown = sorted(set(hparams) - fields)
  if unknown:
    close = {u: difflib.get_close_matches(u, fields, n=1) for u in unknown}
    hint = "".join(f"; did you mean {c[0]!r} for {u!r}?" for u, c in close.items() if c)
    raise TypeError(
        f"model {name!r} got unknown hyperparameter(s) {unknown}; "
        f"accepted: {sorted(fields)}{hint}")
  # Lists (e.g. from configs or JSON) become tuples: modules must be hashable
  # to be static arguments of jitted functions.
  hparams = {k: tuple(v) if isinstance(v, list) else v for k, v in hparams.items()}
  if "input_shape" in hparams:
    hparams["input_shape"] = tuple(int(d) for d in hparams["input_shape"])
  return cls(**hparams)


__all__ = ["ARModel", "get", "get_class", "hparam_names", "names"]

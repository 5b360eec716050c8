"""Config loading and `key.path=value` overrides, shared by reproduce.py and sweep.py.

  config = load_config("made_mnist.py", "cpu")
  apply_overrides(config, ["train.num_steps=100", "model.hparams.hidden_sizes=(64, 64)"])

A value is read as a Python literal (numbers, tuples, booleans, None) where it
parses as one, else as a string; it must fit the old value's type (an int
where a float was is taken as a float).
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "experiments" / "configs"


def load_config(name, variant=""):
  """`get_config(variant)` of `experiments/configs/<name>` (or of the path `name`)."""
  from ar_jax import configs  # pylint: disable=import-outside-toplevel  (jax is slow to import)
  path = pathlib.Path(name)
  if not path.exists():
    path = CONFIG_DIR / name
  if not path.exists():
    choices = sorted(p.name for p in CONFIG_DIR.glob("*.py") if p.name != "common.py")
    raise FileNotFoundError(f"config {name!r} does not exist; expected a path or one of "
                            f"{choices}")
  return configs.load(path, variant or None)


def parse_value(text):
  """`text` as a Python literal where it is one ("3", "1e-3", "(4, 4)", "True"), else as is."""
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def _coerce(key, old, value):
  if old is None or value is None:
    return value
  if isinstance(old, bool) or isinstance(value, bool):
    if isinstance(old, bool) and isinstance(value, bool):
      return value
  elif isinstance(old, float) and isinstance(value, int):
    return float(value)
  elif isinstance(old, (tuple, list)) and isinstance(value, (tuple, list)):
    return type(old)(value)
  elif isinstance(value, type(old)):
    return value
  elif isinstance(old, str):
    return str(value)
  raise ValueError(f"override {key}={value!r}: expected a {type(old).__name__} like the "
                   f"config's {old!r}")


def split_override(item):
  """("key.path", "value text") of "key.path=value"; a clear error otherwise."""
  key, sep, value = item.partition("=")
  if not sep or not key:
    raise ValueError(f"--set expects key.path=value (e.g. train.num_steps=100), got {item!r}")
  return key.strip(), value.strip()


def apply_overrides(config, overrides):
  """Applies "key.path=value" strings to `config` in place; returns it."""
  for item in overrides:
    key, text = split_override(item)
    *parents, leaf = key.split(".")
    node = config
    for i, p in enumerate(parents):
      if p not in node:
        raise KeyError(f"--set {item!r}: unknown config key {'.'.join(parents[:i + 1])!r}; "
                       f"it has {sorted(node.keys())}")
      node = node[p]
    if leaf not in node:
      raise KeyError(f"--set {item!r}: unknown config key {key!r}; "
                     f"{'.'.join(parents) or 'the config'} has {sorted(node.keys())}")
    node[leaf] = _coerce(key, node[leaf], parse_value(text))
  return config

"""Hyperparameter checks, shared by every model's `__post_init__`.

Each check reads hyperparameter `key` of `model` (an `ARModel`, built but not
bound) and raises a ValueError naming the model, the key, the value given,
what was expected and the fix, in one style:

  "WaveNet: kernel_size must be an int >= 1, got 0; set kernel_size to an int >= 1"

Checks that normalize a value return it (`check_int_sequence`) or store it
(`normalize_ordering`) with `object.__setattr__` (modules are frozen
dataclasses).
"""

import math

import numpy as np

from ar_jax import masks


def _name(model):
  return type(model).__name__


def fail(model, key, expected, fix=None):
  """Raises the ValueError every check raises for hyperparameter `key`."""
  value = getattr(model, key)
  raise ValueError(f"{_name(model)}: {key} must be {expected}, got {value!r}; "
                   f"{fix or f'set {key} to {expected}'}")


def _is_int(v):
  return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def check_int(model, key, low=1, note=""):
  """`key` is an int >= `low` (bools are not counts); `note` explains the bound."""
  v = getattr(model, key)
  if not _is_int(v) or v < low:
    fail(model, key, f"an int >= {low}{note}")


def check_int_sequence(model, key, low=1, non_empty=False):
  """`key` is a sequence of ints >= `low`; returns it as a tuple of ints."""
  v = getattr(model, key)
  ok = not isinstance(v, (str, bytes)) and hasattr(v, "__iter__")
  values = tuple(v) if ok else ()
  if not ok or (non_empty and not values) or not all(_is_int(h) and h >= low for h in values):
    kind = "a non-empty sequence" if non_empty else "a sequence"
    fail(model, key, f"{kind} of ints >= {low}", f"e.g. {key}=(500,)")
  return tuple(int(h) for h in values)


def check_choice(model, key, choices):
  """`key` is one of `choices`."""
  if getattr(model, key) not in choices:
    fail(model, key, f"one of {list(choices)}", f"use one of {list(choices)}")


def check_rate(model, key):
  """`key` is a probability in [0, 1) (a dropout rate)."""
  v = getattr(model, key)
  if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0.0 <= v < 1.0:
    fail(model, key, "a rate in [0, 1)", f"set {key} in [0, 1) (0 = no dropout)")


def check_input_shape(model, layout="", rank=None, min_dims=1):
  """`input_shape` has positive sizes (and `rank` axes, named by `layout`)."""
  shape = tuple(model.input_shape)
  if ((rank is not None and len(shape) != rank) or not shape
      or not all(_is_int(d) and d >= 1 for d in shape)):
    what = layout or "a tuple of positive ints"
    fail(model, "input_shape", f"{what} of positive ints" if layout else what,
         "pass the shape of one example" + (" (a grayscale image is (H, W, 1))"
                                              if rank == 3 else ""))
  if math.prod(shape) < min_dims:
    fail(model, "input_shape", f"a shape of at least {min_dims} elements",
         "give the model more than one dimension to order")


def check_at_most_one(model, **kinds):
  """At most one of the hyperparameters `kinds` (key -> what it gives) is set.

  E.g. `check_at_most_one(model, cond_classes="int labels", cond_size="float vectors")`.
  """
  given = [k for k in kinds if getattr(model, k)]
  if len(given) > 1:
    options = ", ".join(f"{k} ({what})" for k, what in kinds.items())
    raise ValueError(f"{_name(model)}: set at most one of {options}, got "
                     + ", ".join(f"{k}={getattr(model, k)!r}" for k in given)
                     + "; unset all but one")


def check_cond_counts(model, *keys):
  """Each conditioning size `key` (e.g. cond_classes, cond_size) is an int >= 0."""
  for key in keys:
    check_int(model, key, low=0, note=" (0 = no conditioning)")


def ordering_layout(model):
  """The shape a dense model's `ordering` is laid out on: `ordering_shape`, or `input_shape`."""
  return tuple(model.ordering_shape) or tuple(model.input_shape)


def normalize_ordering(model):
  """Checks `ordering_shape` and `ordering` of a dense model and stores them normalized.

  `ordering_shape` is () (= `input_shape`) or a shape of `num_dims` elements;
  image orderings ("hilbert", ...) on flat data need it, e.g. (28, 28) for
  (784,). `ordering` must be valid on that layout; an explicit order is stored
  as a tuple, which keeps the module hashable (a static argument of jitted
  functions).
  """
  v, d = model.ordering_shape, model.num_dims
  ok = not isinstance(v, (str, bytes)) and hasattr(v, "__iter__")
  shape = tuple(v) if ok else (0,)
  if shape and (not all(_is_int(s) and s >= 1 for s in shape) or math.prod(shape) != d):
    fail(model, "ordering_shape", f"() (= input_shape) or a tuple of positive ints with "
         f"{d} elements in all (prod(input_shape))",
         f"e.g. ordering_shape={masks.image_shape_example(d)} to lay the {d} dims out "
         "as an image, or () for input_shape")
  object.__setattr__(model, "ordering_shape", tuple(int(s) for s in shape))
  spec, layout = model.ordering, ordering_layout(model)
  try:
    order = masks.get_ordering(spec, layout, seed=model.seed)
  except ValueError as e:
    fix = ""
    if masks.is_image_ordering(spec) and len(layout) not in (2, 3):
      fix = (f"; set ordering_shape to the image shape the {model.num_dims} dims are laid "
             f"out on, e.g. ordering_shape={masks.image_shape_example(model.num_dims)}")
    raise ValueError(f"{_name(model)}: ordering={spec!r} is not valid for input_shape="
                     f"{tuple(model.input_shape)}, ordering_shape={model.ordering_shape!r}: "
                     f"{e}{fix}") from None
  object.__setattr__(model, "ordering",
                     spec if isinstance(spec, str) else tuple(int(i) for i in order))


def check_channel_groups(model, *keys):
  """Each width `key` is a positive multiple of the image's C channels.

  Image models split every layer's units into one group per channel, so that
  channel c only sees channels < c of its pixel.
  """
  c = int(model.input_shape[-1])
  for key in keys:
    v = getattr(model, key)
    if not _is_int(v) or v < 1 or v % c:
      fail(model, key, f"a positive multiple of the image's {c} channel(s) (input_shape[-1])",
           "every layer splits its units into one group per channel so that channel c "
           "only sees channels < c of its pixel")

"""Bad input at the API boundary, tried as a new user would, on every registered model.

- Class indices outside [0, num_classes) (0..255 pixels given to a binary
  model): a ValueError naming the value, its index, the range and the fix
  outside `jit`; inside `jit` (values unknown when tracing) the documented
  behaviour, NaN log-prob for that example only (`ar_jax/models/base.py`
  docstring, README "The model contract").
- A float (or bool) array of the data's shape given to a discrete model, or an
  integer array given to a real-valued one: a ValueError saying what was
  expected, inside `jit` too (dtypes and shapes are static).
- `models.get` with an unknown hyperparameter lists only real hyperparameters
  (no ClassVar test settings, no Flax internals).
"""

import ast
import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import models

import testlib


def _by_kind(kind):
  """pytest params (name, hparams) of each registered model of `kind`: its first variant."""
  params, seen = [], set()
  for name, hp, _ in testlib.conformance_cases():
    if name not in seen and models.get(name, **hp).is_discrete == (kind == "discrete"):
      params.append(pytest.param(name, hp, id=name))
    seen.add(name)
  return params


DISCRETE = _by_kind("discrete")
REAL = _by_kind("real")


def _model(name, hp):
  model = models.get(name, **hp)
  return model, testlib.perturbed(model)


def _log_prob(model, variables, x, jit=False):
  f = lambda v, x: model.apply(v, x, method="log_prob")
  return (jax.jit(f) if jit else f)(variables, x)


def _train_log_prob(model, variables, x, jit=False):
  f = lambda v, x: model.apply(v, x, jax.random.key(0), method="train_log_prob")
  return (jax.jit(f) if jit else f)(variables, x)


def _params(model, variables, x, jit=False):
  f = lambda v, x: model.apply(v, x)
  return (jax.jit(f) if jit else f)(variables, x)


ENTRY_POINTS = [_log_prob, _train_log_prob, _params]


def test_models_are_sorted_by_kind():
  assert {"deepnade", "fvsbn", "made", "nade"} <= {p.values[0] for p in DISCRETE}
  assert "rnade" in {p.values[0] for p in REAL}


@pytest.mark.parametrize("name,hp", DISCRETE)
def test_out_of_range_classes_raise_outside_jit(name, hp):
  model, variables = _model(name, hp)
  k = model.num_classes
  x = np.zeros((3,) + model.input_shape, np.int32)
  flat = x.reshape(3, -1)
  flat[1, 1] = 255 if k < 256 else k  # 8-bit pixels given to a K-class model
  flat[2, 2] = 255 if k < 256 else k
  idx = re.escape(str((1,) + tuple(int(i) for i in np.unravel_index(1, model.input_shape))))
  for f in ENTRY_POINTS:
    with pytest.raises(ValueError, match=(
        rf"{type(model).__name__}: x has value 255 at index {idx}, outside \[0, num_classes\) = "
        rf"\[0, {k}\) \(2 such value\(s\); values span 0\.\.255\)\. .*binarize .* or build the "
        rf"model with num_classes >= 256")):
      f(model, variables, jnp.asarray(x))
  # Negative values: more classes cannot help, so no num_classes hint.
  with pytest.raises(ValueError, match=r"x has value -1 at index \(0, 0") as e:
    _log_prob(model, variables, jnp.asarray(-np.ones_like(x)))
  assert "num_classes >=" not in str(e.value), str(e.value)


@pytest.mark.parametrize("name,hp", DISCRETE)
def test_out_of_range_classes_inside_jit_make_that_example_nan(name, hp):
  model, variables = _model(name, hp)
  k, d = model.num_classes, model.num_dims
  # Row r < 4 D has one bad value (K, -1, 255, K + 1 in turn) at dim r % D,
  # so every dim is bad in some rows: the first dims of the ordering (read by
  # every later conditional) and the last (read by none: only its own term
  # sees it), observed or not in a random order-agnostic training context.
  n_bad = 4 * d
  x = np.asarray(testlib.example_input(model, n_bad + 4, seed=1)).reshape(n_bad + 4, d).copy()
  x[np.arange(n_bad), np.arange(n_bad) % d] = np.repeat([k, -1, 255, k + 1], d)
  x = jnp.asarray(x.reshape((-1,) + model.input_shape))
  for f in (_log_prob, _train_log_prob):
    lp = np.asarray(f(model, variables, x, jit=True))
    assert np.isnan(lp[:n_bad]).all(), (f.__name__, np.flatnonzero(~np.isnan(lp[:n_bad])))
    assert np.isfinite(lp[n_bad:]).all(), (f.__name__, lp[n_bad:])
  # The rest of the batch is unaffected.
  np.testing.assert_allclose(_log_prob(model, variables, x, jit=True)[n_bad:],
                             _log_prob(model, variables, x[n_bad:], jit=True), rtol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bool_])
@pytest.mark.parametrize("name,hp", DISCRETE)
def test_discrete_model_rejects_non_integer_data_shaped_input(name, hp, dtype):
  model, variables = _model(name, hp)
  x = jnp.zeros((2,) + model.input_shape, dtype)
  msg = (rf"{type(model).__name__}: x must be integer class indices \[B, \*{re.escape(str(model.input_shape))}\] "
         rf"with values in \[0, {model.num_classes}\) or a float one-hot .*; got "
         rf"{jnp.dtype(dtype).name} of shape \(2, .*Cast class indices with x\.astype\(jnp\.int32\)")
  for f in ENTRY_POINTS:
    for jit in (False, True):
      with pytest.raises(ValueError, match=msg):
        f(model, variables, x, jit=jit)


@pytest.mark.parametrize("name,hp", REAL)
def test_real_valued_model_rejects_integer_input(name, hp):
  model, variables = _model(name, hp)
  x = jnp.zeros((2,) + model.input_shape, jnp.int32)
  msg = (rf"{type(model).__name__} is a real-valued model: x must be a float array .*got int32 "
         rf"of shape .*Cast real values with x\.astype\(jnp\.float32\)")
  for f in ENTRY_POINTS:
    for jit in (False, True):
      with pytest.raises(ValueError, match=msg):
        f(model, variables, x, jit=jit)


@pytest.mark.parametrize("name", models.names())
def test_unknown_hparam_lists_only_hyperparameters(name):
  cls = models.get_class(name)
  with pytest.raises(TypeError) as e:
    models.get(name, input_shape=(4,), input_shap=(4,), supports_cache=True)
  msg = str(e.value)
  assert "unknown hyperparameter(s) ['input_shap', 'supports_cache']" in msg, msg
  accepted = ast.literal_eval(re.search(r"accepted: (\[.*?\])", msg).group(1))
  assert accepted == sorted({f.name for f in dataclasses.fields(cls)} - {"parent", "name"})
  assert "input_shape" in accepted, msg
  for not_hp in ("supports_cache", "parent", "name"):
    assert not_hp not in accepted, msg
  assert "did you mean 'input_shape' for 'input_shap'?" in msg, msg


@pytest.mark.parametrize("name,hp", DISCRETE)
def test_sampler_checks_given_values_before_jit(name, hp):
  """Completion input: an out-of-range or float x_init fails before anything runs."""
  model, variables = _model(name, hp)
  x_init = np.zeros((2,) + tuple(model.input_shape), np.int32)
  known = np.zeros(model.input_shape, bool)
  known.flat[0] = True
  x_init.reshape(2, -1)[1, 0] = model.num_classes  # one known value out of range
  with pytest.raises(ValueError, match=r"x_init has value .* outside \[0, num_classes\)"):
    ar_jax.sample(model, variables, jax.random.key(0), 2, x_init=x_init, known=known)
  with pytest.raises(ValueError, match="integer class indices"):
    ar_jax.sample(model, variables, jax.random.key(0), 2,
                  x_init=x_init.astype(np.float32), known=known)
  # An out-of-range value at an unknown (sampled) position is never read.
  unknown = x_init.copy()
  unknown.reshape(2, -1)[1, 0] = 0
  unknown.reshape(2, -1)[1, -1] = model.num_classes + 5
  out = ar_jax.sample(model, variables, jax.random.key(0), 2, x_init=unknown, known=known)
  assert np.all((np.asarray(out) >= 0) & (np.asarray(out) < model.num_classes))


def test_sampler_checks_cond_labels_before_jit():
  model = models.get("made", input_shape=(4,), hidden_sizes=(8,), cond_classes=3, direct=True)
  variables = model.init(jax.random.key(0), jnp.zeros((2, 4), jnp.int32),
                         cond=jnp.zeros((2,), jnp.int32))
  with pytest.raises(ValueError, match="cond"):
    ar_jax.sample(model, variables, jax.random.key(0), 2, cond=jnp.array([0, 3]))
  with pytest.raises(ValueError, match="conditional"):
    ar_jax.sample(model, variables, jax.random.key(0), 2)

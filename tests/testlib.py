"""Shared helpers for model tests: one of each, so every test checks the same thing.

- `example_input(model, n)`: a valid random input (numpy draws: nothing compiled).
- `all_inputs(model)`: every input of a tiny discrete model, in `itertools.product` order.
- `perturbed(model, ...)`: variables with every entry randomly moved, so init
  symmetries (zero biases, unit scales, equal units) cannot hide a bug.
- `assert_causal(model, variables)`: causality by gradients, for every ordering.
- `assert_masks_not_trained(model, variables, x, key)`: what `jax.grad`
  differentiates (the leaves of `variables`) holds no constant and cannot open
  a forbidden connection.
- `assert_completion_conditions(model, variables)`: completion copies the given
  dims and samples the others from the model's conditional *given* them.
- `registered(name, cls)`: a model registered for one block only; tests use
  the `register_model` fixture in `conftest.py`. Never edit
  `ar_jax.models._REGISTRY` at import time: the model would leak into every
  later test module of the session (and into the conformance cases).
"""

import contextlib
import functools
import importlib
import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np

import ar_jax
from ar_jax import masks
from ar_jax import models

import conformance_cases as conformance_table


# ----------------------------------------------------------------- cases ----

def conformance_cases(perturbation=False):
  """(name, hparams, id) for every registered model and its variants.

  Every variant of the model's entry in `conformance_cases.MODELS`, at the
  tiny shape of its kind; for models with a `num_classes` hyperparameter the
  first variant also with num_classes=3, at the kind's tiny shape (3 classes
  over 3x3 pixels would be 19683 inputs to enumerate). Raises for a registered model with
  no entry, so that no model goes untested. A variant's "perturbation" entry
  (the `perturbed` keyword arguments of its variables; default
  `conformance_cases.PERTURBATION`) is no hyperparameter: hparams hold it
  only with `perturbation=True`, always, for the suite to pop.
  """
  missing = [name for name in models.names() if name not in conformance_table.MODELS]
  if missing:
    raise LookupError(
        f"registered model(s) {missing} have no conformance cases: add an entry "
        f"name: (kind, variants) to MODELS in tests/conformance_cases.py (kind one of "
        f"{sorted(conformance_table.TINY_SHAPES)})")
  cases = []
  for name in models.names():
    kind, variants = conformance_table.MODELS[name]
    shape = conformance_table.TINY_SHAPES[kind]
    for i, variant in enumerate(variants):
      hp = {"input_shape": shape, **variant}
      noise = hp.pop("perturbation", conformance_table.PERTURBATION)
      if perturbation:
        hp["perturbation"] = noise
      cases.append((name, hp, f"{name}-v{i}"))
      if i == 0 and "num_classes" in models.hparam_names(name):
        cases.append((name, {**hp, "num_classes": 3, "input_shape": shape},
                      f"{name}-v{i}-K3"))
  return cases


# ---------------------------------------------------------------- inputs ----

def example_input(model, n, seed=0):
  """Valid input `[n, *input_shape]`: int32 classes, or float32 standard normals."""
  shape = (n,) + tuple(model.input_shape)
  rng = np.random.default_rng(seed)
  if model.is_discrete:
    return jnp.asarray(rng.integers(0, model.num_classes, shape), jnp.int32)
  return jnp.asarray(rng.standard_normal(shape), jnp.float32)


def all_inputs(model, limit=20000):
  """Every input of a discrete model, `[K**D, *input_shape]` int32.

  Row r is the r-th tuple of `itertools.product(range(K), repeat=D)` over the
  flat dims, i.e. the base-K number with dim 0 most significant.
  """
  d, k = model.num_dims, model.num_classes
  assert k ** d <= limit, f"{k}**{d} inputs: too many to enumerate (limit {limit})"
  grid = np.array(list(itertools.product(range(k), repeat=d)), np.int32)
  return jnp.asarray(grid.reshape((-1,) + tuple(model.input_shape)))


def input_codes(x_NxS, num_classes):
  """Row index into `all_inputs` of each input: base-K code, dim 0 most significant."""
  x_NxD = np.asarray(x_NxS).reshape(len(x_NxS), -1)
  return x_NxD @ (num_classes ** np.arange(x_NxD.shape[1] - 1, -1, -1))


# ------------------------------------------------------------- variables ----

def perturbed(model, seed=0, scale=0.3, around="init", relative=False):
  """Variables of `model` with every entry moved by `scale` * N(0, 1) (numpy draws).

  Args:
    model: an unbound model.
    seed: seeds the init key and the numpy noise.
    scale: standard deviation of the noise.
    around: "init": noise added to `model.init(key(seed), example_input)`.
      A number c or a dict {leaf name: c} (other leaves 0): noise around those
      constants, with shapes from `jax.eval_shape` (nothing runs or compiles);
      e.g. {"rho": 1.0} keeps NADE's activation scales near 1.
    relative: the noise of each init leaf is `scale` times that leaf's own
      spread (a kernel's std, ~1 / sqrt(fan-in); see `_moved_relative` for
      constant leaves), not `scale` itself: a deep, wide net without
      normalization then keeps about the activation scale of its init, where
      `scale`-sized moves of every weight multiply it at each layer and
      saturate every conditional. Only with around="init".
  Returns:
    The variables pytree, float32 leaves.
  """
  rng = np.random.default_rng(seed)
  x = example_input(model, 2, seed)
  if isinstance(around, str):
    if around != "init":
      raise ValueError(f"around must be 'init', a number or a dict, got {around!r}")
    centers = model.init(jax.random.key(seed), x)
  else:
    shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), x))
    by_name = around if isinstance(around, dict) else {}
    default = 0.0 if isinstance(around, dict) else float(around)
    centers = jax.tree_util.tree_map_with_path(
        lambda path, s: np.full(s.shape, by_name.get(getattr(path[-1], "key", None), default),
                                np.float32),
        shapes)
  if relative:
    if not isinstance(around, str):
      raise ValueError(f"relative=True scales the noise to the init's spread: it needs "
                       f"around='init', got around={around!r}")
    return _moved_relative(centers, scale, rng)
  return jax.tree.map(
      lambda c: jnp.asarray(np.asarray(c) + scale * rng.standard_normal(np.shape(c)), jnp.float32),
      centers)


def _moved_relative(centers, scale, rng):
  """`perturbed(relative=True)`: each leaf moved by `scale` times its own spread.

  The spread of a leaf that varies is its std; of a nonzero constant leaf (a
  unit scale), its magnitude; of a zero leaf (a bias), the largest std among
  the leaves of its layer (a bias is a weight on a constant unit input, so it
  moves as the kernel's entries do), or 1 in a layer with none.
  """
  leaves, treedef = jax.tree_util.tree_flatten_with_path(centers)
  leaves = [(jax.tree_util.keystr(path[:-1]), np.asarray(c, np.float32)) for path, c in leaves]
  layer_spread = {}
  for layer, c in leaves:
    if c.size > 1:
      layer_spread[layer] = max(layer_spread.get(layer, 0.0), float(c.std()))
  moved = []
  for layer, c in leaves:
    if c.size > 1 and c.std() > 0:
      sigma = float(c.std())
    elif np.any(c):
      sigma = float(np.abs(c).max())
    else:
      sigma = layer_spread.get(layer) or 1.0
    moved.append(jnp.asarray(c + scale * sigma * rng.standard_normal(c.shape), jnp.float32))
  return jax.tree_util.tree_unflatten(treedef, moved)


# ------------------------------------------------------------- causality ----

def relaxed_input(model, n=4, seed=7):
  """Inputs `[n, *input_shape(, K)]` with defined gradients (softmax one-hots if discrete)."""
  rng = np.random.default_rng(seed)
  shape = (n,) + tuple(model.input_shape)
  if model.is_discrete:
    return jax.nn.softmax(jnp.asarray(rng.standard_normal(shape + (model.num_classes,)),
                                      jnp.float32), axis=-1)
  return jnp.asarray(rng.standard_normal(shape), jnp.float32)


def orderings_as_positions(orders_MxD):
  """Inverse permutations: pos[m, d] = step at which dim d is generated."""
  return np.stack([masks.positions(order) for order in np.asarray(orders_MxD)])


@functools.partial(jax.jit, static_argnums=(0, 3))
def _dependencies(model, variables, x_N, indexed, order_index):
  """[D, D] bool: [i, j] is True iff some param of dim i has d/dx_j != 0 at some input."""
  d = model.num_dims
  kwargs = {"order_index": order_index} if indexed else {}
  f = lambda x: model.apply(variables, x[None], **kwargs).reshape(d, -1)
  jac_N = jax.vmap(jax.jacrev(f))(x_N)  # [N, D, P, *x.shape[1:]]
  return jnp.any(jac_N.reshape(x_N.shape[0], d, -1, d, x_N[0].size // d) != 0, axis=(0, 2, 4))


def assert_causal(model, variables, seed=7, require_dependence=True):
  """Causality by gradients, for every ordering m of the model.

  d params_i / d x_j == 0 unless j strictly precedes i in ordering m, at 4
  random inputs; and (`require_dependence`) != 0 for some such j whenever i
  has a predecessor, so a model that sees nothing fails too. A tiny ReLU net
  can switch off every path from a dim's predecessors at one parameter point,
  so a dim that shows no dependence there is looked at again under up to 3
  fresh `perturbed` variables: a blind model is blind under all of them.
  Discrete input is a relaxed one-hot, so the gradients exist. One compiled
  program serves every ordering and every variables (`order_index` is traced).
  """
  x_N = relaxed_input(model, seed=seed)
  positions = orderings_as_positions(model.orderings())
  indexed = model.num_orderings > 1
  name = type(model).__name__
  for m in range(model.num_orderings):
    pos = positions[m]
    allowed = pos[None, :] < pos[:, None]
    dep_DxD = np.zeros_like(allowed)
    for retry in range(4 if require_dependence else 1):
      v = variables if retry == 0 else perturbed(model, seed=1000 + retry)
      dep_DxD |= np.asarray(_dependencies(model, v, x_N, indexed, jnp.int32(m)))
      bad = np.argwhere(dep_DxD & ~allowed)
      assert bad.size == 0, (
          f"{name}, ordering {m}: outputs see forbidden inputs (output dim i, input dim j): "
          f"{bad.tolist()}" + (f" (under perturbed(seed={1000 + retry}))" if retry else ""))
      blind = [i for i in range(model.num_dims)
               if pos[i] > 0 and not dep_DxD[i, pos < pos[i]].any()]
      if not blind:
        break
    assert not (require_dependence and blind), (
        f"{name}, ordering {m}: dims {blind} ignore all their predecessors")


def assert_masks_not_trained(model, variables, x, key, step=0.05):
  """What training differentiates holds no mask and cannot open a forbidden connection.

  The trainer differentiates `train_log_prob` w.r.t. every leaf of
  `variables`, so the check is on exactly those leaves, not on their names:
  1. the only collection is "params" (nothing hidden in other collections);
  2. every leaf gets a finite gradient with a nonzero entry: a leaf training
     never changes (say a mask stored as a param behind `stop_gradient`) is a
     constant in the wrong place;
  3. one step along the training gradient keeps the model causal for every
     ordering: a mask stored as a trainable param gets nonzero gradients on
     its forbidden entries, so the step opens them (as would a model that
     forgot to apply its mask). The step has no fixed size in parameter units:
     only which entries move matters, so the gradient is scaled to max |g| = step.
  """
  name = type(model).__name__
  assert set(variables) == {"params"}, f"{name}: unexpected collections {sorted(variables)}"
  objective = lambda v: model.apply(v, x, key, method="train_log_prob").sum()
  grads = jax.jit(jax.grad(objective))(variables)
  chex.assert_trees_all_equal_shapes(grads, variables)
  chex.assert_tree_all_finite(grads)
  frozen = [jax.tree_util.keystr(p) for p, g in jax.tree_util.tree_leaves_with_path(grads)
            if not np.any(np.asarray(g))]
  assert not frozen, (
      f"{name}: variables {frozen} get an exactly-zero gradient from train_log_prob: "
      f"training never changes them, so they are constants (masks?) stored in params; "
      f"keep constants out of params (layers multiply masks in: kernel * mask)")
  g_max = max(float(jnp.abs(g).max()) for g in jax.tree.leaves(grads))
  stepped = jax.tree.map(lambda v, g: v + (step / g_max) * g, variables, grads)
  try:
    assert_causal(model, stepped, require_dependence=False)
  except AssertionError as e:
    raise AssertionError(
        f"after one step along the training gradient the model sees forbidden inputs: "
        f"a mask is trained (stored in params) or not applied: {e}") from None


# ------------------------------------------------------------ completion ----

def _conditional_laws(model, variables, x_CxS, u):
  """Law of dim u given all other dims, for each row of x, averaged over orderings.

  The sampler draws one ordering per sample, uniformly; with every dim but u
  given, u's predecessors are given under every ordering, so its law is the
  mean over m of the model's conditional under ordering m. Discrete: probs
  [C, K]. Real-valued: [C, 2] (mean, variance) by quadrature on a wide grid.
  """
  dist, c = model.distribution, x_CxS.shape[0]
  kws = ([{"order_index": m} for m in range(model.num_orderings)]
         if model.num_orderings > 1 else [{}])
  params_CxP = [model.apply(variables, x_CxS, **kw).reshape(c, model.num_dims, -1)[:, u]
                for kw in kws]
  values = (np.arange(model.num_classes) if model.is_discrete
            else np.linspace(-60.0, 60.0, 24001))
  n = len(values)

  def prob(p_CxP):  # [C, n]: probabilities (discrete) or density * grid step.
    lp = dist.log_prob(jnp.repeat(p_CxP, n, axis=0),
                       jnp.asarray(np.tile(values, c), x_CxS.dtype if model.is_discrete
                                   else jnp.float32))
    return np.exp(np.asarray(lp, np.float64)).reshape(c, n)

  probs = np.mean([prob(p) for p in params_CxP], axis=0)
  if model.is_discrete:
    return probs
  probs = probs * (values[1] - values[0])
  assert np.all(np.abs(probs.sum(1) - 1.0) < 1e-3), f"grid misses mass: {probs.sum(1)}"
  mean = probs @ values
  return np.stack([mean, (probs * (values[None] - mean[:, None]) ** 2).sum(1)], 1)


def assert_completion_conditions(model, variables, sample=ar_jax.sample, n=20000, seed=5):
  """Completion samples the free dims *given* the known ones, not just next to them.

  Every dim but u (the last dim of ordering 0) is given; half the samples get
  given values A, half B (the pair of 8 random candidates whose conditionals
  of u differ most). Checks: the given dims are copied; x_u follows the
  model's conditional given A (resp. B); and those two conditionals are more
  than twice the test's tolerance apart, so no law of x_u that ignores the
  given values can pass both (triangle inequality): a sampler that copies the
  given dims but conditions on something else fails.
  """
  u = int(model.orderings()[0, -1])
  cands = example_input(model, 8, seed)
  laws = _conditional_laws(model, variables, cands, u)
  half = n // 2
  if model.is_discrete:
    # Expected TV of an empirical law is ~ sum sqrt(2/pi p(1-p)/n) / 2; allow 3x.
    tol = lambda p: 3 * 0.5 * np.sum(np.sqrt(2 / np.pi * p * (1 - p) / half))
    dist = lambda p, q: 0.5 * np.abs(p - q).sum()
  else:
    tol = lambda mv: 5 * np.sqrt(mv[1] / half)  # 5 standard errors of a sample mean
    dist = lambda p, q: abs(p[0] - q[0])
  a, b = max(itertools.combinations(range(8), 2), key=lambda ab: dist(laws[ab[0]], laws[ab[1]]))
  gap = dist(laws[a], laws[b])
  assert gap > tol(laws[a]) + tol(laws[b]), (
      f"given values barely move dim {u}'s conditional ({gap:.4g}): the check would be blind")
  x_init = jnp.concatenate([jnp.repeat(cands[a:a + 1], half, 0),
                            jnp.repeat(cands[b:b + 1], n - half, 0)])
  known = np.ones(model.input_shape, bool).reshape(-1)
  known[u] = False
  known = known.reshape(model.input_shape)
  out = np.asarray(sample(model, variables, jax.random.key(seed), n, x_init=x_init, known=known))
  np.testing.assert_array_equal(out[:, known], np.asarray(x_init)[:, known])
  x_u = out.reshape(n, -1)[:, u]
  for rows, law, which in ((x_u[:half], laws[a], "A"), (x_u[half:], laws[b], "B")):
    if model.is_discrete:
      got = np.bincount(rows, minlength=model.num_classes) / len(rows)
    else:
      got = np.array([rows.mean(), rows.var()])
    assert dist(got, law) < tol(law), (
        f"dim {u} given values {which}: sampled law {got} is not the model's "
        f"conditional {law} (distance {dist(got, law):.4g} > {tol(law):.4g})")


# -------------------------------------------------------------- registry ----

@contextlib.contextmanager
def registered(name, model_cls):
  """Registers `model_cls` (a module-level class) as model `name` inside the block."""
  if name in models._REGISTRY:  # pylint: disable=protected-access
    raise ValueError(f"model name {name!r} is already registered; pick another test name")
  module, qualname = model_cls.__module__, model_cls.__qualname__
  if getattr(importlib.import_module(module), qualname, None) is not model_cls:
    raise ValueError(f"{qualname} must be a class defined at module level of an importable "
                     f"module ({module!r}): the registry imports it by name")
  models._REGISTRY[name] = f"{module}:{qualname}"  # pylint: disable=protected-access
  try:
    yield name
  finally:
    del models._REGISTRY[name]  # pylint: disable=protected-access

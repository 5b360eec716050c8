"""MADE-specific properties beyond the conformance suite."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import masks
from ar_jax import models


def _made(**hp):
  model = models.get("made", **{"input_shape": (6,), "hidden_sizes": (16, 16), **hp})
  x = jax.random.randint(jax.random.key(0), (8, 6), 0, model.num_classes)
  variables = model.init(jax.random.key(1), x)
  # Perturb so the (zero-initialized) biases and direct kernel matter.
  variables = jax.tree_util.tree_map(
      lambda p: p + 0.2 * jax.random.normal(jax.random.key(p.size), p.shape), variables)
  return model, variables, x


@pytest.mark.parametrize("num_classes", [2, 4])
def test_ensemble_is_logmeanexp_of_per_mask_likelihoods(num_classes):
  model, variables, x = _made(num_masks=5, order_agnostic=True,
                              connectivity_agnostic=True, num_classes=num_classes)
  per_mask = np.stack([
      np.asarray(model.apply(variables, x, method="log_prob", order_index=m), np.float64)
      for m in range(5)])
  brute = np.log(np.mean(np.exp(per_mask), axis=0))
  ens = np.asarray(model.apply(variables, x, method="log_prob"))
  np.testing.assert_allclose(ens, brute, rtol=1e-5, atol=1e-5)
  # ... which is not what averaging the logits over masks would give.
  logits = np.mean([np.asarray(model.apply(variables, x, order_index=m)) for m in range(5)], 0)
  dist = model.distribution
  avg_logit_lp = np.asarray(dist.log_prob(jnp.asarray(logits), x).sum(-1))
  assert np.max(np.abs(avg_logit_lp - brute)) > 1e-3


def test_pool_is_order_and_connectivity_agnostic():
  model, variables, x = _made(num_masks=4, order_agnostic=True, connectivity_agnostic=True)
  orders = model.orderings()
  assert orders.shape == (4, 6)
  np.testing.assert_array_equal(orders[0], np.arange(6))  # entry 0 keeps `ordering`
  assert len({tuple(o) for o in orders}) == 4
  # Same pool from the same seed; a different seed gives a different pool.
  np.testing.assert_array_equal(models.get("made", input_shape=(6,), num_masks=4,
                                           order_agnostic=True).orderings()[1], orders[1])
  assert not np.array_equal(models.get("made", input_shape=(6,), num_masks=4, seed=1,
                                       order_agnostic=True).orderings()[1], orders[1])
  # Training draws a pool entry from the key: different keys, different masks.
  lps = {float(model.apply(variables, x, jax.random.key(k), method="train_log_prob").sum())
         for k in range(12)}
  assert len(lps) > 1


@pytest.mark.parametrize("direct", [False, True])
def test_made_masks_pass_generic_checker(direct):
  model = models.get("made", input_shape=(7,), num_classes=3, hidden_sizes=(20, 20),
                     num_masks=3, order_agnostic=True, connectivity_agnostic=True,
                     direct=direct)
  pool = model._pool()  # pylint: disable=protected-access
  for m in range(3):
    hidden, out, dmask = model._masks([np.asarray(deg)[m] for deg in pool])  # pylint: disable=protected-access
    p = model.distribution.num_params
    masks.check_autoregressive(
        [np.asarray(h) for h in hidden] + [np.asarray(out)],
        in_dims=np.repeat(np.arange(7), 2), out_dims=np.repeat(np.arange(7), p),
        ordering=model.orderings()[m], direct=None if dmask is None else np.asarray(dmask))


def test_bad_hparams_fail_clearly():
  with pytest.raises(ValueError, match="num_masks"):
    models.get("made", input_shape=(4,), num_masks=0).orderings()
  with pytest.raises(ValueError, match="permutation"):
    models.get("made", input_shape=(4,), ordering=(0, 1, 1, 2)).orderings()


def test_params_tree_and_names_unchanged():
  # Checkpoints written before the layer library must still restore.
  model, variables, _ = _made(direct=True)
  assert sorted(variables["params"]) == ["bias_0", "bias_1", "bias_2", "direct_kernel",
                                         "kernel_0", "kernel_1", "kernel_2"]
  assert variables["params"]["kernel_0"].shape == (6, 16)
  assert variables["params"]["direct_kernel"].shape == (6, 6)


# ------------------------------------------------------------- conditioning


def _all_inputs(d, k):
  return jnp.asarray(np.array(list(itertools.product(range(k), repeat=d)), np.int32))


def _cond_made(cond_classes=0, cond_size=0, **hp):
  """A perturbed conditional MADE on D = 4 and its unconditional twin's variables."""
  hp = {"input_shape": (4,), "hidden_sizes": (12, 12), "direct": True, **hp}
  model = models.get("made", cond_classes=cond_classes, cond_size=cond_size, **hp)
  x = jax.random.randint(jax.random.key(0), (3, 4), 0, model.num_classes)
  cond = (jnp.arange(3) % cond_classes if cond_classes
          else jax.random.normal(jax.random.key(2), (3, cond_size)))
  return model, _perturbed(jax.jit(model.init)(jax.random.key(1), x, cond=cond), 0.5)


@jax.jit
def _perturbed(variables, scale):
  leaves, tree = jax.tree_util.tree_flatten(variables)
  keys = jax.random.split(jax.random.key(5), len(leaves))
  leaves = [l + scale * jax.random.normal(k, l.shape) for l, k in zip(leaves, keys)]
  return jax.tree_util.tree_unflatten(tree, leaves)


def test_conditional_params_extend_the_unconditional_ones():
  hp = {"input_shape": (4,), "hidden_sizes": (12, 12), "direct": True}
  x = jnp.zeros((2, 4), jnp.int32)
  plain_model = models.get("made", **hp)
  plain = jax.jit(plain_model.init)(jax.random.key(1), x)["params"]
  model = models.get("made", cond_classes=3, **hp)
  params = jax.jit(model.init)(jax.random.key(1), x, cond=jnp.array([0, 2]))["params"]
  assert sorted(set(params) - set(plain)) == ["cond_0", "cond_1", "cond_direct"]
  for name in plain:  # same x-weights for the same key
    np.testing.assert_array_equal(params[name], plain[name])
  assert params["cond_0"]["kernel"].shape == (3, 12)
  assert params["cond_direct"]["kernel"].shape == (3, 4)
  # With the cond weights zeroed it is the unconditional MADE, for every label.
  perturbed = _perturbed(params, 0.3)
  zeroed = {**perturbed, **{k: jax.tree.map(jnp.zeros_like, perturbed[k])
                            for k in ("cond_0", "cond_1", "cond_direct")}}
  plain_out = jax.jit(plain_model.apply)({"params": {k: perturbed[k] for k in plain}}, x)
  apply = jax.jit(model.apply)
  for label in range(3):
    np.testing.assert_array_equal(apply({"params": zeroed}, x, cond=jnp.full((2,), label)),
                                  plain_out)
  assert np.abs(apply({"params": perturbed}, x, cond=jnp.full((2,), 1)) - plain_out).max() > 1e-3


@pytest.mark.parametrize("direct", [False, True])
def test_conditional_made_is_causal_in_x_and_depends_on_cond(direct):
  model, variables = _cond_made(cond_classes=3, num_masks=2, order_agnostic=True,
                                connectivity_agnostic=True, direct=direct)
  x0 = jax.nn.softmax(jax.random.normal(jax.random.key(7), (1, 4, 2)), axis=-1)
  out = jax.jit(lambda x, c, m: model.apply(variables, x, cond=c, order_index=m).reshape(4))
  jac_fn = jax.jit(jax.jacrev(out))  # one compile: label and mask index are traced
  for m in range(2):
    pos = masks.positions(model.orderings()[m])
    for label in range(3):
      jac = jac_fn(x0, jnp.array([label]), m)  # [D, 1, D, K]
      dep_DxD = np.asarray(jnp.any(jac[:, 0] != 0, axis=-1))
      np.testing.assert_array_equal(dep_DxD & ~(pos[None, :] < pos[:, None]),
                                    np.zeros((4, 4), bool))
    # Every output depends on the label, except, without direct connections,
    # the first dim of the ordering: no hidden unit reaches it (degree < 1).
    outs = np.stack([np.asarray(out(x0, jnp.array([c]), m)) for c in range(3)])
    moved = np.abs(outs - outs[0]).max(axis=0) > 1e-4
    np.testing.assert_array_equal(moved, np.ones(4, bool) if direct else pos > 0)


def test_cond_vector_output_depends_on_every_feature():
  model, variables = _cond_made(cond_size=3)
  x = jnp.array([[1, 0, 1, 1]])
  c0 = jnp.array([[0.5, -1.0, 2.0]])
  jac = jax.jit(jax.jacrev(lambda c: model.apply(variables, x, cond=c).reshape(4)))(c0)  # [D,1,F]
  assert np.all(np.asarray(jac[:, 0]) != 0)


@pytest.mark.parametrize("num_classes, num_masks", [(2, 1), (3, 3)])
def test_conditional_made_normalizes_for_every_label(num_classes, num_masks):
  model, variables = _cond_made(cond_classes=4, num_classes=num_classes, num_masks=num_masks,
                                order_agnostic=num_masks > 1,
                                connectivity_agnostic=num_masks > 1)
  x = _all_inputs(4, num_classes)
  log_prob = jax.jit(lambda c, **kw: model.apply(variables, x, cond=c, method="log_prob", **kw))
  per_label = []
  for label in range(4):
    cond = jnp.full((x.shape[0],), label)
    lp = log_prob(cond)
    assert abs(float(jnp.exp(jax.nn.logsumexp(lp))) - 1.0) < 1e-4, f"label {label}"
    per_label.append(np.asarray(lp))
    for m in range(num_masks if num_masks > 1 else 0):
      lp_m = log_prob(cond, order_index=m)
      assert abs(float(jnp.exp(jax.nn.logsumexp(lp_m))) - 1.0) < 1e-4
  assert np.abs(per_label[0] - per_label[1]).max() > 1e-2  # the labels differ
  # train_log_prob takes cond too (one pool entry, or the one mask).
  lp_train = jax.jit(lambda: model.apply(
      variables, x, jax.random.key(0), cond=jnp.zeros(x.shape[0], jnp.int32),
      method="train_log_prob"))()
  if num_masks == 1:
    np.testing.assert_allclose(lp_train, per_label[0], rtol=1e-6)


def test_cond_vector_model_normalizes():
  model, variables = _cond_made(cond_size=2)
  x = _all_inputs(4, 2)
  log_prob = jax.jit(lambda c: model.apply(variables, x, cond=c, method="log_prob"))
  for c in ([0.0, 0.0], [1.5, -2.0]):
    lp = log_prob(jnp.broadcast_to(jnp.asarray(c), (x.shape[0], 2)))
    assert abs(float(jnp.exp(jax.nn.logsumexp(lp))) - 1.0) < 1e-4


@pytest.mark.parametrize("num_masks", [1, 3])
def test_sampler_with_fixed_label_matches_log_prob(num_masks):
  model, variables = _cond_made(cond_classes=3, num_masks=num_masks,
                                order_agnostic=num_masks > 1,
                                connectivity_agnostic=num_masks > 1)
  x = _all_inputs(4, 2)
  n, label = 20000, 2
  p = np.exp(np.asarray(model.apply(variables, x, cond=jnp.full((16,), label),
                                    method="log_prob"), np.float64))
  s = np.asarray(ar_jax.sample(model, variables, jax.random.key(3), n,
                               cond=jnp.full((n,), label)))
  freq = np.bincount(s @ (2 ** np.arange(3, -1, -1)), minlength=16) / n
  tv = 0.5 * np.abs(freq - p).sum()
  bound = 3 * 0.5 * np.sum(np.sqrt(2 / np.pi * p * (1 - p) / n))
  assert tv < bound, f"TV(samples, exp(log_prob)) = {tv:.4f} > {bound:.4f}"
  # ... and not the distribution of another label.
  p0 = np.exp(np.asarray(model.apply(variables, x, cond=jnp.zeros((16,), jnp.int32),
                                     method="log_prob"), np.float64))
  assert 0.5 * np.abs(freq - p0).sum() > 5 * bound


def test_cond_errors_name_the_problem():
  model, variables = _cond_made(cond_classes=3)
  x = jnp.zeros((2, 4), jnp.int32)

  def call(cond, method=None):
    return model.apply(variables, x, cond=cond, **({} if method is None else {"method": method}))

  with pytest.raises(ValueError, match=r"is conditional: pass cond=, int labels \[B\] in \[0, 3\)"):
    model.apply(variables, x, method="log_prob")
  with pytest.raises(ValueError, match=r"got float32 of shape \(2,\).*astype\(jnp.int32\)"):
    call(jnp.zeros((2,)))
  with pytest.raises(ValueError, match=r"B = 2 \(the batch of x\), got int32 of shape \(2, 1\)"):
    call(jnp.zeros((2, 1), jnp.int32))
  with pytest.raises(ValueError, match=r"got int32 of shape \(3,\)"):
    call(jnp.zeros((3,), jnp.int32), method="log_prob")
  with pytest.raises(ValueError, match=r"label 3 of example 1 is outside \[0, 3\)"):
    call(jnp.array([0, 3]))
  with pytest.raises(ValueError, match=r"label -1 of example 0"):
    call(np.array([-1, 0]), method="log_prob")
  # Inside jit labels are unknown: an out-of-range one gives NaN for that
  # example only, never a silent "no class".
  lp = jax.jit(lambda c: model.apply(variables, x, cond=c, method="log_prob"))(jnp.array([1, 7]))
  assert np.isfinite(lp[0]) and np.isnan(lp[1])

  vec, vec_vars = _cond_made(cond_size=2)
  with pytest.raises(ValueError, match=r"float vectors \[B, 2\].*got int32 of shape \(2, 2\)"):
    vec.apply(vec_vars, x, cond=jnp.zeros((2, 2), jnp.int32))
  with pytest.raises(ValueError, match=r"is conditional: pass cond=, float vectors \[B, 2\]"):
    vec.apply(vec_vars, x)

  plain, plain_vars, _ = _made()
  for method in ("__call__", "log_prob"):
    with pytest.raises(ValueError, match=r"is unconditional but got cond of shape \(8,\): drop "
                       r"cond, or build the model with cond_classes=C"):
      plain.apply(plain_vars, jnp.zeros((8, 6), jnp.int32), cond=jnp.zeros(8, jnp.int32),
                  method=method)
  with pytest.raises(ValueError, match="is unconditional"):
    plain.apply(plain_vars, jnp.zeros((8, 6), jnp.int32), jax.random.key(0),
                cond=jnp.zeros(8, jnp.int32), method="train_log_prob")


@pytest.mark.parametrize("hp, match", [
    ({"cond_classes": 3, "cond_size": 2}, "set at most one of cond_classes"),
    ({"cond_classes": -1}, r"cond_classes must be an int >= 0 \(0 = no conditioning\), got -1"),
    ({"cond_size": 1.5}, "cond_size must be an int >= 0"),
    ({"cond_classes": 3, "hidden_sizes": ()}, "needs hidden layers or direct=True"),
])
def test_bad_cond_hparams_fail_at_construction(hp, match):
  with pytest.raises(ValueError, match=match):
    models.get("made", input_shape=(4,), **hp)


@pytest.mark.parametrize("cond_classes", [0, 3])
def test_init_through_any_method_gives_the_same_params(cond_classes):
  # The ensemble runs the layers inside lax.map; params must still be created
  # outside it (else they are leaked tracers), in __call__'s order.
  model = models.get("made", input_shape=(5,), hidden_sizes=(8, 8), num_masks=3,
                     order_agnostic=True, connectivity_agnostic=True, direct=True,
                     cond_classes=cond_classes)
  x = jnp.zeros((2, 5), jnp.int32)
  kw = {"cond": jnp.array([0, 2])} if cond_classes else {}
  ref = jax.jit(model.init)(jax.random.key(0), x, **kw)
  for method, args in (("log_prob", ()), ("train_log_prob", (jax.random.key(1),))):
    got = jax.jit(lambda k, m=method, a=args: model.init(k, x, *a, method=m, **kw))(
        jax.random.key(0))
    assert jax.tree.structure(got) == jax.tree.structure(ref)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
      np.testing.assert_array_equal(a, b)

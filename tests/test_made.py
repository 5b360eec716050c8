"""MADE-specific properties beyond the conformance suite."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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

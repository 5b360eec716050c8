"""The one seeding convention of ar_jax.masks.orderings, and pins of every
existing model config's orderings and MADE degrees.

The pins were computed from the code before the orderings module existed
(main at 91badaf): MADE's own pool, DeepNADE's `_ordering_pool` and
`masks.get_ordering`. They must never change: the README results and trained
checkpoints depend on them.
"""

import hashlib

import numpy as np
import pytest

from ar_jax import masks as M
from ar_jax import models


def _digest(arrays):
  """First 16 hex digits of sha256 over each array's shape and int64 bytes."""
  h = hashlib.sha256()
  for a in arrays:
    a = np.ascontiguousarray(np.asarray(a, np.int64))
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
  return h.hexdigest()[:16]


_MADE_CONFIGS = {  # experiments/configs/made_*.py, plus the other pool flags.
    "fbfdc7975d294f52": dict(hidden_sizes=(500,), direct=True, seed=0),
    "9abf6ef3feeea0a2": dict(hidden_sizes=(8000,), direct=True),
    "e4cc93f08064d336": dict(hidden_sizes=(8000, 8000), direct=True),
    "05aaa71a2ab82e3a": dict(hidden_sizes=(1000, 1000), direct=True),
    "11549a3adf327eb8": dict(hidden_sizes=(500,), num_masks=32, order_agnostic=True,
                             connectivity_agnostic=True, direct=True),
    "46cd309811702ede": dict(hidden_sizes=(8000, 8000), num_masks=32, order_agnostic=True,
                             connectivity_agnostic=True, direct=True),
    "fcc286cc44fdb4e9": dict(hidden_sizes=(50, 40), num_masks=5, order_agnostic=True, seed=1),
    "b0087413927af3f6": dict(hidden_sizes=(50, 40), num_masks=5, connectivity_agnostic=True,
                             seed=2),
    "e1baee425381b35e": dict(hidden_sizes=(30, 30), num_masks=3, order_agnostic=True,
                             connectivity_agnostic=True, hidden_degrees="even",
                             ordering="random", seed=4),
}


@pytest.mark.parametrize("digest", sorted(_MADE_CONFIGS))
def test_made_pool_is_pinned(digest):
  model = models.get("made", input_shape=(784,), **_MADE_CONFIGS[digest])
  pool = model._pool()  # pylint: disable=protected-access
  assert _digest(pool) == digest
  np.testing.assert_array_equal(model.orderings(), np.argsort(pool[0], axis=1))


def test_made_conformance_pool_spelled_out():
  model = models.get("made", input_shape=(4,), hidden_sizes=(24,), num_masks=3,
                     order_agnostic=True, connectivity_agnostic=True)
  inputs, hidden = model._pool()  # pylint: disable=protected-access
  np.testing.assert_array_equal(inputs, [[1, 2, 3, 4], [2, 3, 1, 4], [2, 4, 1, 3]])
  np.testing.assert_array_equal(hidden[1], [2, 3, 2, 1, 2, 2, 2, 3, 1, 1, 2, 1,
                                            2, 1, 1, 2, 1, 3, 3, 2, 1, 1, 3, 1])


@pytest.mark.parametrize("name, hparams, digest", [
    ("deepnade", dict(ordering="random"), "93e1e73c81785f33"),  # deepnade_mnist.py
    ("deepnade", dict(ordering="random", num_orderings=16), "235cbab25aa18e15"),
    ("deepnade", dict(ordering="random", num_orderings=128), "f940745629e36e1e"),
    ("deepnade", dict(num_orderings=8, seed=5), "b5974b308dc3c972"),
    ("nade", dict(), "b01a66932999bf21"),  # nade_mnist.py
    ("nade", dict(ordering="random", seed=3), "14afe4a6109e2b62"),
    ("fvsbn", dict(ordering="random", seed=3), "14afe4a6109e2b62"),
])
def test_model_orderings_are_pinned(name, hparams, digest):
  orders_MxD = models.get(name, input_shape=(784,), **hparams).orderings()
  assert _digest(list(orders_MxD)) == digest  # one [D] array per pool entry


def test_small_pools_spelled_out():
  np.testing.assert_array_equal(
      models.get("deepnade", input_shape=(4,), num_orderings=3).orderings(),
      [[0, 1, 2, 3], [3, 0, 2, 1], [1, 3, 2, 0]])
  np.testing.assert_array_equal(M.get_ordering("random", 6, seed=0), [3, 2, 5, 4, 0, 1])
  np.testing.assert_array_equal(M.hidden_degrees(8, 6, seed=0), [5, 4, 3, 2, 2, 1, 1, 1])
  mm = M.made_masks(np.arange(6), (8, 8), seed=3)
  assert _digest(mm.hidden + [mm.output]) == "a6369cccd02d3498"


# ---------------------------------------------------------------- the convention


def test_ordering_pool_convention():
  pool = M.ordering_pool("random", 9, 4, seed=7)
  np.testing.assert_array_equal(pool[0], np.random.default_rng(7).permutation(9))
  rng = np.random.default_rng([7, 1])
  for m in range(1, 4):
    np.testing.assert_array_equal(pool[m], rng.permutation(9))
  # Growing the pool keeps the earlier entries; a bigger pool is a superset.
  np.testing.assert_array_equal(M.ordering_pool("random", 9, 6, seed=7)[:4], pool)
  np.testing.assert_array_equal(M.ordering_pool("reversed", 9, 1, seed=None),
                                [np.arange(9)[::-1]])
  assert not pool.flags.writeable  # cached: callers must not edit it
  with pytest.raises(ValueError, match="num_orderings must be a positive int, got 0"):
    M.ordering_pool("natural", 9, 0, seed=0)


def test_chained_hidden_degrees_is_min_degree_chained():
  for seed in range(5):
    degs = M.chained_hidden_degrees((3, 40, 40), 10, seed=seed)
    for prev, cur in zip(degs[:-1], degs[1:]):
      assert cur.min() >= prev.min()
    assert all(d.max() <= 9 for d in degs)


def test_made_pool_v0_is_the_documented_single_stream():
  orders, (deg1, deg2) = M.made_pool_v0("natural", 6, (8, 7), 3, seed=4, order_agnostic=True,
                                        connectivity_agnostic=True)
  g = np.random.default_rng(4)
  for m in range(3):
    want_order = g.permutation(6) if m else np.arange(6)
    np.testing.assert_array_equal(orders[m], want_order)
    d1 = M.hidden_degrees(8, 6, seed=int(g.integers(2**31)))
    d2 = M.hidden_degrees(7, 6, seed=int(g.integers(2**31)), min_degree=int(d1.min()))
    np.testing.assert_array_equal(deg1[m], d1)
    np.testing.assert_array_equal(deg2[m], d2)

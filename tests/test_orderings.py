"""The one seeding convention of ar_jax.masks.orderings, and pins of every
existing model config's orderings and MADE degrees.

The pins were computed from the code before the orderings module existed
(main at 91badaf): MADE's own pool, DeepNADE's `_ordering_pool` and
`masks.get_ordering`. They must never change: the README results and trained
checkpoints depend on them.
"""

import hashlib
import pathlib
import re

import numpy as np
import pytest

from ar_jax import masks as M
from ar_jax import models

import testlib


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


# ---------------------------------------------------------------- the registry

IMAGE_ORDERS = ("s_curve", "hilbert", "spiral", "zigzag")


def _steps(order, w):
  """Manhattan length of every step between consecutive pixels of `order`."""
  r, c = np.divmod(np.asarray(order), w)
  return np.abs(np.diff(r)) + np.abs(np.diff(c))


def test_registered_names():
  names = M.ordering_names()
  for name in ("raster", "natural", "reversed", "random") + IMAGE_ORDERS:
    assert name in names
  assert names == sorted(names)
  for shape in [(7,), (3, 4), (2, 3, 2)]:
    np.testing.assert_array_equal(M.get_ordering("raster", shape),
                                  M.get_ordering("natural", shape))


@pytest.mark.parametrize("shape", [5, (5,), (2, 3), (4, 3, 2)])
def test_existing_names_keep_their_permutations(shape):
  d = int(np.prod(shape))
  np.testing.assert_array_equal(M.get_ordering("natural", shape), np.arange(d))
  np.testing.assert_array_equal(M.get_ordering("reversed", shape), np.arange(d)[::-1])
  np.testing.assert_array_equal(M.get_ordering("random", shape, seed=11),
                                np.random.default_rng(11).permutation(d))


def test_image_orders_spelled_out():
  np.testing.assert_array_equal(M.get_ordering("s_curve", (3, 4)),
                                [0, 1, 2, 3, 7, 6, 5, 4, 8, 9, 10, 11])
  np.testing.assert_array_equal(  # JPEG's 4x4 zigzag
      M.get_ordering("zigzag", (4, 4)), [0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15])
  np.testing.assert_array_equal(M.get_ordering("zigzag", (2, 3)), [0, 1, 3, 4, 2, 5])
  np.testing.assert_array_equal(M.get_ordering("spiral", (3, 3)), [0, 1, 2, 5, 8, 7, 6, 3, 4])
  np.testing.assert_array_equal(M.get_ordering("spiral", (3, 4)),
                                [0, 1, 2, 3, 7, 11, 10, 9, 8, 4, 5, 6])
  np.testing.assert_array_equal(M.get_ordering("hilbert", (2, 2)), [0, 2, 3, 1])


@pytest.mark.parametrize("name", IMAGE_ORDERS)
def test_image_orders_are_permutations_on_many_shapes(name):
  for h in range(1, 13):
    for w in range(1, 13):
      np.testing.assert_array_equal(np.sort(M.get_ordering(name, (h, w))), np.arange(h * w))
  np.testing.assert_array_equal(np.sort(M.get_ordering(name, (28, 28))), np.arange(784))


@pytest.mark.parametrize("name", IMAGE_ORDERS + ("random",))
def test_channels_follow_their_pixel_in_order(name):
  pixels = M.get_ordering(name, (3, 5), seed=2)
  order = M.get_ordering(name, (3, 5, 3), seed=2)
  if name == "random":  # "random" orders all the dims, as it always has
    np.testing.assert_array_equal(order, M.get_ordering("random", 45, seed=2))
  else:
    np.testing.assert_array_equal(order, (pixels[:, None] * 3 + np.arange(3)).ravel())
    np.testing.assert_array_equal(M.get_ordering(name, (3, 5, 1)), pixels)


@pytest.mark.parametrize("shape", [(28, 28), (8, 8), (5, 7), (7, 6), (1, 9), (2, 2), (3, 10)])
def test_hilbert_steps_are_4_neighbours(shape):
  order = M.get_ordering("hilbert", shape)
  assert order[0] == 0  # from the top-left corner
  assert (_steps(order, shape[1]) == 1).all()


def test_hilbert_steps_are_4_neighbours_whenever_a_side_is_even():
  for h in range(1, 21):
    for w in range(1, 21):
      if h % 2 == 0 or w % 2 == 0:
        assert (_steps(M.get_ordering("hilbert", (h, w)), w) == 1).all(), (h, w)


@pytest.mark.parametrize("n", [4, 8, 16])
def test_hilbert_on_a_power_of_two_fills_blocks_in_turn(n):
  # A Hilbert curve visits each aligned k x k block in one run; raster does not.
  pos = M.positions(M.get_ordering("hilbert", (n, n))).reshape(n, n)
  k = 2
  while k < n:
    for r in range(0, n, k):
      for c in range(0, n, k):
        block = np.sort(pos[r:r + k, c:c + k].ravel())
        np.testing.assert_array_equal(block, np.arange(block[0], block[0] + k * k))
    k *= 2


@pytest.mark.parametrize("name", ["s_curve", "spiral"])
def test_s_curve_and_spiral_steps_are_4_neighbours(name):
  for shape in [(1, 5), (5, 1), (4, 4), (5, 7), (6, 3), (28, 28)]:
    assert (_steps(M.get_ordering(name, shape), shape[1]) == 1).all(), shape


def test_zigzag_walks_anti_diagonals():
  order = M.get_ordering("zigzag", (5, 7))
  r, c = np.divmod(order, 7)
  assert (np.diff(r + c) >= 0).all()  # anti-diagonal by anti-diagonal
  assert (_steps(order, 7) <= 2).all()


def test_symmetries_are_the_flips_and_transposes():
  sym = M.symmetries("raster", (3, 3))
  assert sym.shape == (8, 9)
  grid = np.arange(9).reshape(3, 3)
  for row, want in zip(sym, [grid, grid[::-1], grid[:, ::-1], grid[::-1, ::-1], grid.T,
                             grid.T[:, ::-1], grid.T[::-1], grid.T[::-1, ::-1]]):
    np.testing.assert_array_equal(row, want.ravel())
  np.testing.assert_array_equal(sym[3], M.get_ordering("reversed", 9))


@pytest.mark.parametrize("name", ("raster", "random") + IMAGE_ORDERS)
@pytest.mark.parametrize("shape", [(6, 6), (5, 7), (4, 4, 3)])
def test_symmetries_are_distinct_permutations(name, shape):
  sym = M.symmetries(name, shape, seed=0)
  h, w = shape[:2]
  assert sym.shape == (8 if h == w else 4, int(np.prod(shape)))
  for row in sym:
    np.testing.assert_array_equal(np.sort(row), np.arange(sym.shape[1]))
  assert len({tuple(row) for row in sym}) == len(sym)
  np.testing.assert_array_equal(sym[0], M.get_ordering(name, shape, seed=0))
  if len(shape) == 3:  # a move keeps every dim's channel
    assert (sym % shape[2] == sym[0] % shape[2]).all()


def test_symmetries_flip_raster_rows():
  np.testing.assert_array_equal(M.symmetries("raster", (2, 3))[1], [3, 4, 5, 0, 1, 2])
  np.testing.assert_array_equal(M.symmetries("raster", (2, 3))[2], [2, 1, 0, 5, 4, 3])
  with pytest.raises(ValueError, match=r"symmetries .* needs an image shape .* got shape \(6,\)"):
    M.symmetries("raster", (6,))


@pytest.mark.parametrize("spec, shape, match", [
    ("bogus", 4, r"unknown ordering 'bogus' .*registered orderings: hilbert, natural, random, "
                 r"raster, reversed, s_curve, spiral, zigzag"),
    ([0, 1], 3, r"permutation of range\(3\), got array\(\[0, 1\]\): it has 2 entries, "
                r"expected 3; or pass a registered ordering: hilbert, natural"),
    ([0, 2, 2], 3, r"repeated \[2\], missing \[1\]; or pass a registered ordering: hilbert"),
    ([0, 1, 5], 3, r"values outside range \[5\].*missing \[2\]; .*registered"),
    ([0.0, 1.0], 2, r"its entries are not ints \(dtype float64\); .*registered"),
    ([[0, 1], [2, 3]], 4, r"it has shape \(2, 2\), expected a flat sequence of 4 ints"),
    ("hilbert", (784,), r"ordering 'hilbert' .* needs an image shape \(H, W\) or \(H, W, C\), "
                        r"got shape \(784,\); .*e\.g\. \(28, 28\)"),
    ("spiral", (2, 3, 4, 5), r"ordering 'spiral' .* got shape \(2, 3, 4, 5\)"),
    ("raster", (3, 0), r"shape must be a positive int D or a non-empty tuple"),
])
def test_bad_specs_say_what_is_wrong(spec, shape, match):
  with pytest.raises(ValueError, match=match):
    M.get_ordering(spec, shape)


def test_register_ordering():
  from ar_jax.masks import orderings  # pylint: disable=import-outside-toplevel

  @M.register_ordering("columns_test", aliases=("cols_test",), image=True)
  def _columns(shape, seed):
    del seed
    return np.arange(shape[0] * shape[1]).reshape(shape).T.ravel()

  @M.register_ordering("broken_test")
  def _broken(shape, seed):
    del shape, seed
    return np.array([0, 0])

  try:
    assert {"columns_test", "cols_test", "broken_test"} <= set(M.ordering_names())
    np.testing.assert_array_equal(M.get_ordering("cols_test", (2, 3, 2)),
                                  [0, 1, 6, 7, 2, 3, 8, 9, 4, 5, 10, 11])
    model = models.get("nade", input_shape=(6,), ordering="columns_test",
                       ordering_shape=(2, 3), hidden_size=4)
    np.testing.assert_array_equal(model.orderings()[0], [0, 3, 1, 4, 2, 5])
    with pytest.raises(ValueError, match=r"ordering 'broken_test' must be a permutation of "
                                         r"range\(2\), got array\(\[0, 0\]\): repeated"):
      M.get_ordering("broken_test", 2)
    with pytest.raises(ValueError, match="ordering name 'raster' is already registered"):
      M.register_ordering("raster")(_columns)
    with pytest.raises(ValueError, match="ordering name 'natural' is already registered"):
      M.register_ordering("other_test", aliases=("natural",))(_columns)
  finally:  # the registry is global: leave it as it was
    for name in ("columns_test", "broken_test"):
      orderings._ORDERINGS.pop(name)  # pylint: disable=protected-access
    orderings._ALIASES.pop("cols_test")  # pylint: disable=protected-access
  assert "columns_test" not in M.ordering_names()


# ------------------------------------------------------- models take any ordering

_DENSE = {  # tiny models, one per model that takes `ordering=`
    "deepnade": dict(hidden_sizes=(8,)),
    "fvsbn": {},
    "made": dict(hidden_sizes=(16, 16), direct=True),
    "nade": dict(hidden_size=6),
    "rnade": dict(hidden_size=6, num_components=2),
}
_PERMUTATION = (4, 1, 5, 0, 3, 2)


@pytest.mark.parametrize("spec", M.ordering_names() + [_PERMUTATION])
@pytest.mark.parametrize("name", sorted(_DENSE))
def test_dense_models_take_every_ordering(name, spec):
  model = models.get(name, input_shape=(6,), ordering=spec, ordering_shape=(2, 3), seed=1,
                     **_DENSE[name])
  np.testing.assert_array_equal(model.orderings()[0], M.get_ordering(spec, (2, 3), seed=1))
  testlib.assert_causal(model, testlib.perturbed(model))


@pytest.mark.parametrize("name", sorted(_DENSE))
def test_dense_models_order_image_inputs_by_pixel(name):
  model = models.get(name, input_shape=(2, 2, 2), ordering="spiral", **_DENSE[name])
  np.testing.assert_array_equal(model.orderings()[0], [0, 1, 2, 3, 6, 7, 4, 5])
  testlib.assert_causal(model, testlib.perturbed(model))


@pytest.mark.parametrize("name", sorted(_DENSE))
def test_dense_models_explain_a_bad_ordering(name):
  cls = models.get_class(name).__name__
  with pytest.raises(ValueError, match=(
      rf"{cls}: ordering='hilbert' is not valid for input_shape=\(784,\), ordering_shape=\(\): "
      r"ordering 'hilbert' .*needs an image shape .*got shape \(784,\).*; set ordering_shape "
      r"to the image shape the 784 dims are laid out on, e\.g\. ordering_shape=\(28, 28\)")):
    models.get(name, input_shape=(784,), ordering="hilbert", **_DENSE[name])
  with pytest.raises(ValueError, match=(
      rf"{cls}: ordering_shape must be \(\) \(= input_shape\) or a tuple of positive ints "
      r"with 784 elements in all .*got \(5, 5\); e\.g\. ordering_shape=\(28, 28\)")):
    models.get(name, input_shape=(784,), ordering="hilbert", ordering_shape=(5, 5),
               **_DENSE[name])
  with pytest.raises(ValueError, match=rf"{cls}: ordering='bogus' .*registered orderings: "
                                       r"hilbert, natural, random, raster"):
    models.get(name, input_shape=(6,), ordering="bogus", **_DENSE[name])
  with pytest.raises(ValueError, match=rf"{cls}: ordering=\(0, 1\) .*it has 2 entries, "
                                       r"expected 6; or pass a registered ordering"):
    models.get(name, input_shape=(6,), ordering=(0, 1), **_DENSE[name])
  model = models.get(name, input_shape=(784,), ordering=list(range(784)),
                     ordering_shape=[28, 28], **_DENSE[name])
  assert model.ordering_shape == (28, 28) and model.ordering == tuple(range(784))
  hash(model)  # static argument of jitted functions


def test_docs_masks_md_ordering_example_runs():
  from ar_jax.masks import orderings  # pylint: disable=import-outside-toplevel
  text = (pathlib.Path(__file__).parents[1] / "docs" / "masks.md").read_text()
  section = text.split("## Orderings\n")[1].split("\n## ")[0]
  (code,) = re.findall(r"```\n(.*?)```", section, re.S)
  want = re.search(r"# (array\(.*\))", code).group(1)
  scope = {}
  try:
    exec(code, scope)  # pylint: disable=exec-used
    got = M.get_ordering("columns", (2, 3))
  finally:
    orderings._ORDERINGS.pop("columns", None)  # pylint: disable=protected-access
  assert repr(got) == want

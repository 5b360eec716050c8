"""Tests for ar_jax.masks: every mask builder is autoregressive, and the checker
reports the exact offending connection when it is not."""

import ast
import pathlib
import re

import numpy as np
import pytest

from ar_jax import masks as M


ORDER_SPECS = [("natural", None), ("reversed", None), ("random", 0), ("random", 7)]


def _dims(num_dims, per_dim):
  return np.repeat(np.arange(num_dims), per_dim)


def _ordering_from_degrees(deg):
  return np.argsort(deg)


# ---------------------------------------------------------------- orderings


def test_get_ordering_specs():
  np.testing.assert_array_equal(M.get_ordering("natural", 4), [0, 1, 2, 3])
  np.testing.assert_array_equal(M.get_ordering("reversed", 4), [3, 2, 1, 0])
  r = M.get_ordering("random", 10, seed=3)
  np.testing.assert_array_equal(np.sort(r), np.arange(10))
  np.testing.assert_array_equal(r, M.get_ordering("random", 10, seed=3))
  assert not np.array_equal(r, M.get_ordering("random", 10, seed=4))
  np.testing.assert_array_equal(M.get_ordering([2, 0, 1], 3), [2, 0, 1])


@pytest.mark.parametrize("spec, num_dims, seed, match", [
    ("random", 4, None, "needs a seed"),
    ([0, 1, 1], 3, None, r"permutation of range\(3\), got array\(\[0, 1, 1\]"),
    ([0, 1], 3, None, r"permutation of range\(3\)"),
    ("zigzag", 3, None, "'zigzag'"),
    ("natural", 0, None, "num_dims must be a positive int, got 0"),
])
def test_get_ordering_errors(spec, num_dims, seed, match):
  with pytest.raises(ValueError, match=match):
    M.get_ordering(spec, num_dims, seed=seed)


def test_input_degrees_are_positions_plus_one():
  np.testing.assert_array_equal(M.input_degrees([2, 0, 1]), [2, 3, 1])


# ------------------------------------------------------------------- MADE


def test_hidden_degrees_random_range_and_determinism():
  d = M.hidden_degrees(500, 6, method="random", seed=1, min_degree=2)
  assert d.min() == 2 and d.max() == 5  # inclusive bounds [min_degree, D-1], all hit
  np.testing.assert_array_equal(d, M.hidden_degrees(500, 6, method="random", seed=1,
                                                     min_degree=2))


def test_hidden_degrees_even():
  np.testing.assert_array_equal(M.hidden_degrees(4, 5, method="even"), [1, 2, 3, 4])
  d = M.hidden_degrees(2, 10, method="even", min_degree=3)
  np.testing.assert_array_equal(d, [3, 9])  # both ends even with few units
  np.testing.assert_array_equal(np.unique(M.hidden_degrees(20, 6, method="even")),
                                [1, 2, 3, 4, 5])


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_units=3, num_inputs=1), "num_inputs must be an int >= 2"),
    (dict(num_units=0, num_inputs=4), "num_units must be a positive int, got 0"),
    (dict(num_units=3, num_inputs=4, min_degree=4), r"min_degree must be in \[1, 3\], got 4"),
    (dict(num_units=3, num_inputs=4, method="random"), "needs a seed"),
    (dict(num_units=3, num_inputs=4, method="gauss", seed=0), "'gauss'"),
])
def test_hidden_degrees_errors(kwargs, match):
  with pytest.raises(ValueError, match=match):
    M.hidden_degrees(**kwargs)


def test_hidden_and_output_mask_rules():
  np.testing.assert_array_equal(M.hidden_mask([1, 2, 3], [1, 2]),
                                [[1, 1], [0, 1], [0, 0]])
  np.testing.assert_array_equal(M.output_mask([1, 2, 3], [1, 2]),
                                [[0, 1], [0, 0], [0, 0]])


@pytest.mark.parametrize("spec, seed", ORDER_SPECS)
@pytest.mark.parametrize("hidden", ["random", "even"])
def test_made_masks_multi_feature_autoregressive_and_connected(spec, seed, hidden):
  d, k, p = 6, 3, 4
  order = M.get_ordering(spec, d, seed=seed)
  mm = M.made_masks(order, (40, 30, 40), hidden=hidden, seed=5, input_features=k,
                    output_params=p, direct=True)
  assert [h.shape for h in mm.hidden] == [(d * k, 40), (40, 30), (30, 40)]
  assert mm.output.shape == (40, d * p) and mm.direct.shape == (d * k, d * p)
  assert all(h.dtype == bool for h in mm.hidden + [mm.output, mm.direct])
  np.testing.assert_array_equal(mm.input_degrees, M.input_degrees(order))
  M.check_autoregressive(mm.hidden + [mm.output], in_dims=_dims(d, k), out_dims=_dims(d, p),
                         ordering=order, direct=mm.direct)
  # Every hidden unit has an input (min-degree chaining), and every output dim
  # but the first in the ordering gets a path through the hidden stack alone.
  assert all(h.any(axis=0).all() for h in mm.hidden)
  conn = M.connectivity(mm.hidden + [mm.output])
  has_path = conn.any(axis=0).reshape(d, p).all(axis=1)
  np.testing.assert_array_equal(has_path, np.arange(d) != order[0])


@pytest.mark.parametrize("seed", range(10))
def test_made_masks_narrow_first_layer_leaves_no_dead_units(seed):
  # A 3-unit first layer often lacks degree 1; min-degree chaining must then
  # keep the next layer from drawing degrees that nothing feeds.
  mm = M.made_masks(M.get_ordering("random", 10, seed=seed), (3, 50, 50), seed=seed)
  for i, h in enumerate(mm.hidden):
    assert h.any(axis=0).all(), f"layer {i + 1} has a unit with no inputs"


def test_made_masks_even_small_widths_still_connect_every_output():
  order = M.get_ordering("random", 9, seed=2)
  mm = M.made_masks(order, (8, 8), hidden="even")
  conn = M.connectivity(mm.hidden + [mm.output])
  np.testing.assert_array_equal(conn.any(axis=0), np.arange(9) != order[0])


def test_made_masks_without_hidden_layers_is_triangular():
  order = M.get_ordering("random", 5, seed=1)
  mm = M.made_masks(order, (), input_features=2, output_params=3)
  assert mm.hidden == []
  np.testing.assert_array_equal(
      mm.output, np.kron(M.triangular_mask(order), np.ones((2, 3))).astype(bool))


@pytest.mark.parametrize("args, kwargs, match", [
    (([0], (4,)), {}, "hidden layers need an ordering of >= 2 dims, got 1"),
    (([0, 1, 2], (4,)), dict(hidden="uniform"), "hidden must be 'random' or 'even', got 'uniform'"),
    (([0, 1, 2], (4, 0)), {}, r"hidden_sizes entry \(in \(4, 0\)\) must be a positive int, got 0"),
    (([0, 2, 2], (4,)), {}, r"ordering must be a permutation of range\(3\)"),
    (([0, 1, 2], (4,)), dict(input_features=0), "input_features must be a positive int, got 0"),
])
def test_made_masks_errors(args, kwargs, match):
  with pytest.raises(ValueError, match=match):
    M.made_masks(*args, **kwargs)


def test_made_masks_deterministic_given_seed():
  a = M.made_masks(np.arange(6), (16, 16), seed=3)
  b = M.made_masks(np.arange(6), (16, 16), seed=3)
  c = M.made_masks(np.arange(6), (16, 16), seed=4)
  assert all(np.array_equal(x, y) for x, y in zip(a.hidden, b.hidden))
  assert not all(np.array_equal(x, y) for x, y in zip(a.hidden, c.hidden))


@pytest.mark.parametrize("spec, seed", ORDER_SPECS)
def test_triangular_mask_is_autoregressive_and_complete(spec, seed):
  order = M.get_ordering(spec, 7, seed=seed)
  tri = M.triangular_mask(order)
  M.check_autoregressive([tri], in_dims=np.arange(7), out_dims=np.arange(7), ordering=order)
  # Complete: every allowed pair is connected (exactly one of [j,i], [i,j] for j != i).
  np.testing.assert_array_equal(tri | tri.T | np.eye(7, dtype=bool), np.ones((7, 7), bool))
  if spec == "natural":
    np.testing.assert_array_equal(tri, np.triu(np.ones((7, 7), bool), 1))


# ------------------------------------------------------------- the checker


def test_connectivity_is_path_existence():
  a = np.array([[1, 0], [0, 1], [0, 0]])
  b = np.array([[0, 1], [0, 0]])
  np.testing.assert_array_equal(M.connectivity([a, b]), [[0, 1], [0, 0], [0, 0]])
  np.testing.assert_array_equal(M.connectivity([a, b], direct=np.eye(3, 2)),
                                [[1, 1], [0, 1], [0, 0]])
  with pytest.raises(ValueError, match=r"masks\[1\] has 3 inputs but masks\[0\] has 2"):
    M.connectivity([a, np.ones((3, 2))])


def test_broken_output_mask_names_the_exact_connection():
  d = 6
  mm = M.made_masks(np.arange(d), (20,), hidden="even")
  deg_h = M.hidden_degrees(20, d, method="even")
  h = int(np.flatnonzero(deg_h == 4)[0])  # sees dims 0..3
  out = mm.output.copy()
  assert not out[h, 1]
  out[h, 1] = True  # forbidden: output dim 1 would see dims 1, 2, 3
  with pytest.raises(M.AutoregressiveError) as err:
    M.check_autoregressive(mm.hidden + [out], in_dims=np.arange(d), out_dims=np.arange(d),
                           ordering=np.arange(d))
  msg = str(err.value)
  assert "3 forbidden connection(s)" in msg
  assert (f"output unit 1 (dim 1, position 1) sees input feature 1 (dim 1, position 1) "
          f"via hidden unit {h} of layer 1") in msg
  assert re.search(r"input feature 3 \(dim 3, position 3\)", msg)
  assert "input feature 4" not in msg
  assert isinstance(err.value, ValueError)


def test_broken_direct_mask_and_reporting_limit():
  order = M.get_ordering("random", 8, seed=0)
  mm = M.made_masks(order, (16,), seed=0, direct=True)
  direct = ~mm.direct  # almost everything forbidden
  with pytest.raises(M.AutoregressiveError) as err:
    M.check_autoregressive(mm.hidden + [mm.output], in_dims=np.arange(8),
                           out_dims=np.arange(8), ordering=order, direct=direct)
  msg = str(err.value)
  total = 8 * 9 // 2  # pairs with pos(in) >= pos(out)
  assert f"{total} forbidden connection(s)" in msg
  assert f"... and {total - 10} more" in msg
  assert msg.count("via the direct mask") == 10


def test_checker_validates_dims():
  with pytest.raises(ValueError, match=r"out_dims must be 3 ints in \[0, 3\)"):
    M.check_autoregressive([np.eye(3)], in_dims=np.arange(3), out_dims=[0, 1, 5],
                           ordering=np.arange(3))


# ------------------------------------------------------------- 1-D


def test_causal_conv1d_padding():
  assert M.causal_conv1d_padding(3, 4) == (8, 0)


def _centred_causal_mask(kernel_size, exclusive=False):
  """[k] mask of a centred odd kernel: tap j (offset j - k//2) kept iff offset <= 0 (< 0)."""
  offset = np.arange(kernel_size) - kernel_size // 2
  return (offset < 0 if exclusive else offset <= 0).astype(np.float32)


def _unroll_1d(mask_k, length):
  k = mask_k.shape[0]
  dense = np.zeros((length, length), bool)
  for t in range(length):
    for j in range(k):
      s = t + j - k // 2
      if 0 <= s < length:
        dense[s, t] = mask_k[j] != 0
  return dense


def test_causal_conv1d_mask_stack_checks():
  t = 9
  first = _unroll_1d(_centred_causal_mask(3, exclusive=True), t)
  rest = _unroll_1d(_centred_causal_mask(5), t)
  M.check_autoregressive([first, rest, rest], in_dims=np.arange(t), out_dims=np.arange(t),
                         ordering=np.arange(t))
  with pytest.raises(M.AutoregressiveError, match="output unit 0 .* input feature 0"):
    M.check_autoregressive([rest, rest], in_dims=np.arange(t), out_dims=np.arange(t),
                           ordering=np.arange(t))


def test_causal_attention_mask():
  np.testing.assert_array_equal(M.causal_attention_mask(4), np.tril(np.ones((4, 4), bool)))
  excl = M.causal_attention_mask(4, exclusive=True)
  np.testing.assert_array_equal(excl, np.tril(np.ones((4, 4), bool), -1))
  # [t, s] = query t reads key s, so as an [IN, OUT] mask it is transposed.
  M.check_autoregressive([excl.T], in_dims=np.arange(4), out_dims=np.arange(4),
                         ordering=np.arange(4))
  with pytest.raises(M.AutoregressiveError):
    M.check_autoregressive([M.causal_attention_mask(4).T], in_dims=np.arange(4),
                           out_dims=np.arange(4), ordering=np.arange(4))


# ------------------------------------------------------------- docs


def test_docs_masks_md_error_message_is_current():
  """docs/masks.md shows captured checker output; it must match the code."""
  text = (pathlib.Path(__file__).parents[1] / "docs" / "masks.md").read_text()
  text = text.split("\n## Any order with LMConv\n")[0]  # tests/test_lmconv.py runs that one
  code = re.findall(r"```python\n(.*?)```", text, re.S)
  shown = re.findall(r"```text\n(.*?)```", text, re.S)
  assert len(code) == 2 and len(shown) == 2
  with pytest.raises(M.AutoregressiveError) as err:
    exec(code[0], {})  # pylint: disable=exec-used
  assert str(err.value) == shown[0].rstrip("\n")
  with pytest.raises(M.AutoregressiveError) as err:
    exec(code[1], {"masks": M})  # pylint: disable=exec-used
  head = shown[1].split("  ...")[0]
  assert str(err.value).startswith(head)


# ------------------------------------------------------------- the package


# Each module may import only the ones before it.
_LAYERS = ["orderings", "image_orderings", "check", "dense", "causal", "conv", "local"]


def test_masks_modules_import_only_earlier_layers():
  """No import cycles: ar_jax.masks.X imports only modules before X in _LAYERS."""
  pkg = pathlib.Path(M.__file__).parent
  assert sorted(p.stem for p in pkg.glob("*.py") if p.stem != "__init__") == sorted(_LAYERS)
  for i, name in enumerate(_LAYERS):
    tree = ast.parse((pkg / f"{name}.py").read_text())
    used = set()
    for node in ast.walk(tree):
      if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ar_jax"):
        parts = node.module.split(".")
        used |= ({parts[2]} if len(parts) > 2 else {a.name for a in node.names})
      elif isinstance(node, ast.Import):
        assert not any(a.name.startswith("ar_jax") for a in node.names), name
    assert used <= set(_LAYERS[:i]), f"masks/{name}.py imports {sorted(used)}"


def test_public_names():
  for name in M.__all__:
    assert getattr(M, name) is not None

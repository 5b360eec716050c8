"""LMConv: causality under any order, the exact order ensemble, training's order
draws, completion under an observed-first order, the cached sampler (equal to
the naive one under one order, a permutation, an 8-order ensemble, RGB logistic
output and completion), and its hyperparameter errors. (The conformance suite
covers normalization, sampling and completion at 3x3.)"""

import contextlib
import functools
import io
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import masks
from ar_jax import models
from ar_jax import sampling

import testlib

PERM = tuple(int(i) for i in np.random.default_rng(4).permutation(25))


@functools.lru_cache(maxsize=None)
def _ensemble():
  """A 5x5 binary ensemble of s_curve and a random permutation, perturbed variables."""
  model = models.get("lmconv", input_shape=(5, 5, 1), order_ensemble=("s_curve", PERM))
  return model, testlib.perturbed(model, seed=1, scale=0.3)


def _neighbours(i, j, h, w):
  return [(a, b) for a in range(max(0, i - 1), min(h, i + 2))
          for b in range(max(0, j - 1), min(w, j + 2)) if (a, b) != (i, j)]


def test_no_conditional_sees_its_pixel_or_later_under_s_curve_and_a_permutation():
  """Zero gradient from every pixel at or after a pixel in the order; nonzero from
  an earlier pixel wherever one is among its 8 neighbours (the first layer reads
  those directly). Under a random order a pixel whose neighbours all come later
  may see nothing: a local kernel has no path to it."""
  model, variables = _ensemble()
  np.testing.assert_array_equal(model.orderings(), np.stack(
      [masks.get_ordering("s_curve", (5, 5)), np.array(PERM)]))
  x = testlib.relaxed_input(model, n=1)[0]
  jac = jax.jit(jax.jacrev(lambda x_, m: model.apply(variables, x_[None], order_index=m)))
  for m, order in enumerate(model.orderings()):
    dep = np.abs(np.asarray(jac(x, m))).reshape(25, -1, 25, 2).sum((1, 3)) > 0  # [out, in]
    pos = masks.positions(order)
    bad = np.argwhere(dep & (pos[None, :] >= pos[:, None]))
    assert bad.size == 0, f"order {m}: (pixel, input at or after it) {bad.tolist()}"
    for p in range(25):
      earlier = [a * 5 + b for a, b in _neighbours(p // 5, p % 5, 5, 5)
                 if pos[a * 5 + b] < pos[p]]
      if earlier:
        assert dep[p, earlier].all(), f"order {m}: pixel {p} ignores its earlier neighbours"
    assert m == 1 or all(dep[p, pos < pos[p]].any() for p in range(25) if pos[p] > 0)


def test_ensemble_log_prob_is_the_log_mean_exp_of_its_members():
  model, variables = _ensemble()
  x = testlib.example_input(model, 6, seed=2)
  members = [models.get("lmconv", input_shape=(5, 5, 1), ordering=spec)
             for spec in ("s_curve", PERM)]
  lp_MxB = np.stack([np.asarray(m.apply(variables, x, method="log_prob"), np.float64)
                     for m in members])
  assert np.abs(lp_MxB[0] - lp_MxB[1]).max() > 1e-3  # the two orders differ
  want = np.logaddexp(lp_MxB[0], lp_MxB[1]) - np.log(2.0)
  got = model.apply(variables, x, method="log_prob")
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
  for m in range(2):  # order_index selects one member
    np.testing.assert_allclose(
        np.asarray(model.apply(variables, x, method="log_prob", order_index=m)), lp_MxB[m],
        rtol=1e-5, atol=1e-5)


def test_training_draws_one_order_per_batch_from_the_key():
  model, variables = _ensemble()
  x = testlib.example_input(model, 3, seed=3)
  members = np.stack([np.asarray(model.apply(variables, x, method="log_prob", order_index=m))
                      for m in range(2)])
  train = jax.jit(lambda k: model.apply(variables, x, k, method="train_log_prob"))
  drawn = []
  for i in range(8):
    lp = np.asarray(train(jax.random.key(i)))
    match = [m for m in range(2) if np.allclose(lp, members[m], rtol=1e-5, atol=1e-5)]
    assert len(match) == 1, f"key {i}: train_log_prob {lp} is no member's log_prob {members}"
    drawn.append(match[0])
  assert set(drawn) == {0, 1}, f"8 keys drew orders {drawn}"


def test_order_symmetries_are_the_flips_and_transposes_per_pixel():
  model = models.get("lmconv", input_shape=(4, 4, 2), order_symmetries=8)
  pix = masks.symmetries("s_curve", (4, 4))
  np.testing.assert_array_equal(model.pixel_orderings(), pix)
  np.testing.assert_array_equal(model.orderings(), (pix[:, :, None] * 2 + np.arange(2))
                                .reshape(8, -1))
  assert models.get("lmconv", input_shape=(4, 3, 1), order_symmetries=4).num_orderings == 4


def test_observed_first_keeps_the_base_order_within_each_part():
  known = np.zeros((3, 4), bool)
  known[2] = True
  known[0, 1] = True
  base = masks.get_ordering("s_curve", (3, 4))
  order = masks.observed_first(known, "s_curve")
  np.testing.assert_array_equal(order, [1, 8, 9, 10, 11, 0, 2, 3, 7, 6, 5, 4])
  assert sorted(order) == list(range(12))
  pos = masks.positions(base)
  for part in (order[:5], order[5:]):
    assert np.all(np.diff(pos[part]) > 0)
  with pytest.raises(ValueError, match=r"bool array \[H, W\]"):
    masks.observed_first(known.astype(int))


def test_completion_under_observed_first_uses_the_pixels_below_the_gap():
  """Rows 1-2 missing: under s_curve a missing pixel cannot see rows 3-4; under
  the observed-first order, with the same variables, it does, and sampling
  completes from those conditionals."""
  model, variables = _ensemble()
  known = np.ones((5, 5), bool)
  known[1:3] = False
  below = np.zeros((5, 5), bool)
  below[3:] = True
  order = masks.observed_first(known, "s_curve")
  completer = models.get("lmconv", input_shape=(5, 5, 1), ordering=order)
  s_curve = models.get("lmconv", input_shape=(5, 5, 1), ordering="s_curve")
  x = testlib.relaxed_input(completer, n=2)

  def sensitivity(model_):  # |d params(missing) / d x(below)| summed
    f = lambda x_: model_.apply(variables, x_)[:, 1:3].sum()
    return np.abs(np.asarray(jax.grad(f)(x))[:, below]).sum()

  assert sensitivity(s_curve) == 0.0
  assert sensitivity(completer) > 0.0

  x_init = np.asarray(testlib.example_input(completer, 64, seed=9))
  other = x_init.copy()
  other[:, 3:] = 1 - other[:, 3:]  # only the pixels below the gap differ
  key = jax.random.key(0)
  got = [np.asarray(ar_jax.sample(completer, variables, key, 64, x_init=jnp.asarray(xi),
                                  known=known[..., None])) for xi in (x_init, other)]
  for xi, out in zip((x_init, other), got):
    np.testing.assert_array_equal(out[:, known], xi[:, known])
  assert np.any(got[0][:, 1:3] != got[1][:, 1:3]), "the completion ignores the rows below"


def test_logistic_output_is_normalized_and_its_conditionals_chain_to_log_prob():
  model = models.get("lmconv", input_shape=(2, 2, 2), output="logistic",
                     order_ensemble=("zigzag", "spiral"))
  variables = testlib.perturbed(model, seed=2)
  x = testlib.all_inputs(model)
  total = float(jnp.exp(jax.nn.logsumexp(model.apply(variables, x, method="log_prob"))))
  assert abs(total - 1.0) < 1e-4
  xs = x[::17]
  for m in range(2):
    joint = model.apply(variables, xs, method="log_prob", order_index=m)
    chained = model.distribution.log_prob(model.apply(variables, xs, order_index=m), xs)
    np.testing.assert_allclose(np.asarray(chained).reshape(len(xs), -1).sum(-1),
                               np.asarray(joint), rtol=1e-5, atol=1e-5)


PERM9 = tuple(int(i) for i in np.random.default_rng(5).permutation(9))


@pytest.mark.parametrize("hparams", [
    dict(input_shape=(3, 3, 1), order_ensemble=("s_curve", PERM9)),
    dict(input_shape=(3, 3, 1), order_symmetries=8),
    dict(input_shape=(2, 2, 3), output="logistic", num_classes=4,
         order_ensemble=("zigzag", (3, 0, 2, 1))),
], ids=["s_curve_and_permutation", "8_orders", "rgb_logistic"])
def test_cached_sampler_equals_naive(hparams):
  """The same samples for the same key (each sample under the order the key
  draws for it); with RGB, also completing around given sub-pixels (a pixel's
  G given, its R and B sampled)."""
  model = models.get("lmconv", **hparams)
  assert sampling.has_cache(model)
  variables = testlib.perturbed(model, seed=3, scale=0.3)
  key = jax.random.key(4)
  kwargs = [{}]
  if model.input_shape[2] == 3:
    known = np.zeros(model.input_shape, bool)
    known[0, 1, 1] = known[1, 0, :] = True
    x_init = testlib.example_input(model, 32, seed=6)
    kwargs.append(dict(x_init=x_init, known=known))
  for kw in kwargs:
    fast, slow = [np.asarray(ar_jax.sample(model, variables, key, 32, use_cache=cache, **kw))
                  for cache in (True, False)]
    np.testing.assert_array_equal(fast, slow)
    assert len(np.unique(fast)) > 1 and len(np.unique(fast, axis=0)) > 4  # not degenerate
    if kw:
      np.testing.assert_array_equal(fast[:, kw["known"]], np.asarray(kw["x_init"])[:, kw["known"]])


@pytest.mark.parametrize("hparams,match", [
    (dict(ordering=(0, 1, 2)), r"ordering=\(0, 1, 2\) is not a pixel order of the 3x3 image"),
    (dict(ordering="diagonal"), "registered orderings: .*s_curve"),
    (dict(order_ensemble=("s_curve", (0, 0, 1, 2, 3, 4, 5, 6, 7))),
     r"order_ensemble\[1\].*repeated \[0\]"),
    (dict(order_ensemble="s_curve"), "order_ensemble must be a tuple of ordering specs"),
    (dict(input_shape=(3, 2, 1), order_symmetries=8), "order_symmetries must be an int in 1..4"),
    (dict(input_shape=(3, 3, 3), num_filters=8), "num_filters must be a positive multiple"),
    (dict(input_shape=(1, 2, 2), ordering=(1, 0, 2, 3)), "channels together and in order"),
    (dict(output="softmax"), r"output must be one of \['categorical', 'logistic'\]"),
    (dict(kernel_size=2), "kernel_size must be an odd int"),
])
def test_bad_hyperparameters_say_what_is_wrong(hparams, match):
  with pytest.raises(ValueError, match=match):
    models.get("lmconv", **{"input_shape": (3, 3, 1), **hparams})


def test_a_dim_order_with_channels_together_is_its_pixel_order():
  dims = masks.get_ordering("hilbert", (3, 3, 2))
  a = models.get("lmconv", input_shape=(3, 3, 2), ordering=dims)
  b = models.get("lmconv", input_shape=(3, 3, 2), ordering="hilbert")
  np.testing.assert_array_equal(a.orderings(), b.orderings())


def test_docs_masks_md_lmconv_section_runs_and_shows_its_output():
  text = (pathlib.Path(__file__).parents[1] / "docs" / "masks.md").read_text()
  section = text.split("\n## Any order with LMConv\n")[1].split("\n## ")[0]
  (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
  printed, error = re.findall(r"```text\n(.*?)```", section, re.S)
  out = io.StringIO()
  with contextlib.redirect_stdout(out), pytest.raises(masks.AutoregressiveError) as err:
    exec(code, {})  # pylint: disable=exec-used
  assert out.getvalue() == printed
  assert str(err.value) == error.rstrip("\n")

"""The sampler and the cache protocol: public signature, declared caches, cond.

Toy models defined here use weights on a 1/4 grid and 0/1 data, so every sum
is exact in float32 in any order: the cached path must then give the naive
path's samples bit for bit, whatever order each adds its terms in.
"""

import inspect
import itertools
import pydoc
import subprocess
import sys
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ar_jax
from ar_jax import distributions
from ar_jax import masks
from ar_jax import models
from ar_jax import sampling
from ar_jax.models import base

import testlib

_ORDERS = np.array([[2, 0, 3, 1], [1, 3, 0, 2]])


def _quarter_normal(key, shape, dtype=jnp.float32):
  return jnp.round(4.0 * jax.random.normal(key, shape, dtype)) / 4.0


class ToyCond(base.ARModel):
  """Bernoulli logits b_d + sum_{j before d} W_dj x_j + U_d . cond, M orderings."""
  input_shape: tuple = (4,)
  cond_size: int = 2
  num_orders: int = 2
  conditional: bool = True

  supports_cache: ClassVar[bool] = True

  @property
  def distribution(self):
    return distributions.Bernoulli()

  def orderings(self):
    return _ORDERS[:self.num_orders]

  def setup(self):
    d = self.num_dims
    self.W = self.param("W", _quarter_normal, (d, d))
    self.b = self.param("b", _quarter_normal, (d,))
    self.U = self.param("U", _quarter_normal, (d, self.cond_size))

  def _base_logits(self, batch_size, cond):
    if not self.conditional:
      self.check_unconditional(cond)
      return jnp.broadcast_to(self.b[None], (batch_size, self.num_dims))
    if cond is None or cond.shape != (batch_size, self.cond_size):
      raise ValueError(f"ToyCond needs cond of shape {(batch_size, self.cond_size)}, "
                       f"got {None if cond is None else cond.shape}")
    return self.b[None] + cond @ self.U.T

  def __call__(self, x, cond=None, order_index=0):
    pos = jnp.asarray(testlib.orderings_as_positions(self.orderings()))[order_index]
    before = (pos[None, :] < pos[:, None]).astype(jnp.float32)  # [d, j]: j precedes d
    logits = self._base_logits(x.shape[0], cond) + x.astype(jnp.float32) @ (self.W * before).T
    return logits[..., None]

  def init_cache(self, batch_size, cond=None, order_index=0):
    del order_index  # the running logits start the same under every ordering
    return {"logits": self._base_logits(batch_size, cond)}

  def cached_step(self, cache, step, cond=None):
    del cond  # already folded into the cache
    absorbed = step.x_prev.astype(jnp.float32)[:, None] * self.W[:, step.prev_dim][None]
    logits = cache["logits"] + jnp.where(step.t > 0, absorbed, 0.0)
    return logits[:, step.dim][:, None], {"logits": logits}


class ToyBrokenCache(ToyCond):
  """A cache that disagrees with __call__: tells which path the sampler took."""

  def cached_step(self, cache, step, cond=None):
    params, cache = super().cached_step(cache, step, cond)
    return params + 50.0, cache


def _toy(**kw):
  model = ToyCond(**kw)
  cond = jnp.zeros((1, model.cond_size)) if model.conditional else None
  return model, model.init(jax.random.key(0), jnp.zeros((1, 4), jnp.int32), cond)


def _cond(n, seed=0):
  return jnp.round(4.0 * jax.random.normal(jax.random.key(seed), (n, 2))) / 4.0


# ------------------------------------------------------- public signature

def test_sample_shows_its_real_signature_and_docstring():
  sig = inspect.signature(ar_jax.sample)
  assert sig == inspect.signature(sampling.sample)
  assert list(sig.parameters) == ["model", "variables", "rng", "num_samples", "cond",
                                  "temperature", "x_init", "known", "use_cache"]
  assert all(sig.parameters[p].kind is inspect.Parameter.KEYWORD_ONLY
             for p in ("cond", "temperature", "x_init", "known", "use_cache"))
  text = pydoc.render_doc(ar_jax.sample, renderer=pydoc.plaintext)
  assert "sample(model, variables, rng, num_samples, *, cond=None" in text
  for arg in ("num_samples:", "cond:", "temperature:", "known:", "use_cache:", "Returns:"):
    assert arg in text, arg


def test_import_ar_jax_stays_cheap():
  code = "import sys, ar_jax; ar_jax.sample; assert 'jax' not in sys.modules, 'jax imported'"
  subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------- declared protocol

def test_has_cache_reads_the_declaration():
  assert sampling.has_cache(models.get("nade", input_shape=(3,), hidden_size=2))
  assert sampling.has_cache(models.get("rnade", input_shape=(3,)))
  assert sampling.has_cache(models.get("deepnade", input_shape=(3,), num_orderings=2))
  assert sampling.has_cache(models.get("made", input_shape=(3,)))
  assert not sampling.has_cache(models.get("fvsbn", input_shape=(3,)))


class _Undeclared(ToyCond):
  supports_cache: ClassVar[bool] = False


class _FlagOnly(base.ARModel):
  input_shape: tuple = (2,)
  supports_cache: ClassVar[bool] = True


@pytest.mark.parametrize("model,match", [(_Undeclared(), "supports_cache = True"),
                                         (_FlagOnly(), "does not implement")])
def test_has_cache_refuses_an_inconsistent_declaration(model, match):
  with pytest.raises(TypeError, match=match):
    sampling.has_cache(model)


def test_default_cache_methods_raise_a_clear_error():
  model = models.get("fvsbn", input_shape=(3,))
  variables = model.init(jax.random.key(0), jnp.zeros((1, 3), jnp.int32))
  with pytest.raises(NotImplementedError, match="FVSBN has no cached sampler.*naive"):
    model.apply(variables, 2, method="init_cache")
  step = base.CacheStep(t=0, dim=0, prev_dim=0, x_prev=jnp.zeros(2, jnp.int32), order_index=0)
  with pytest.raises(NotImplementedError, match="supports_cache = True"):
    model.apply(variables, {}, step, method="cached_step")


@pytest.mark.parametrize("num_orders", [1, 2])
def test_cached_equals_naive_and_is_taken_for_every_ordering_count(num_orders):
  model, variables = _toy(num_orders=num_orders)
  key, cond = jax.random.key(4), _cond(256)
  fast = ar_jax.sample(model, variables, key, 256, cond=cond)
  slow = ar_jax.sample(model, variables, key, 256, cond=cond, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))
  # The ensemble (M = 2) takes the cached path too: a cache that disagrees
  # with __call__ changes the samples.
  broken = ar_jax.sample(ToyBrokenCache(num_orders=num_orders), variables, key, 256, cond=cond)
  assert np.asarray(broken).all() and not np.asarray(slow).all()


def test_deepnade_ensemble_cached_equals_naive():
  model = models.get("deepnade", input_shape=(5,), hidden_sizes=(6,), num_orderings=3)
  variables = model.init(jax.random.key(1), jnp.zeros((1, 5), jnp.int32))
  variables = jax.tree_util.tree_map(lambda v: v + 0.5 * jax.random.normal(
      jax.random.key(2), v.shape), variables)
  key = jax.random.key(5)
  fast = ar_jax.sample(model, variables, key, 128)
  slow = ar_jax.sample(model, variables, key, 128, use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))


# ------------------------------------------------------------------ cond

@pytest.mark.parametrize("use_cache", [True, False])
def test_cond_reaches_every_step_frequencies_match_log_prob(use_cache):
  model, variables = _toy(num_orders=1)
  n = 20000
  c = jnp.array([0.5, -1.25])
  cond = jnp.broadcast_to(c, (n, 2))
  s = np.asarray(ar_jax.sample(model, variables, jax.random.key(6), n, cond=cond,
                               use_cache=use_cache))
  x_all = jnp.asarray(list(itertools.product(range(2), repeat=4)), jnp.int32)
  lp = model.apply(variables, x_all, jnp.broadcast_to(c, (16, 2)), method="log_prob")
  p = np.exp(np.asarray(lp, np.float64))
  np.testing.assert_allclose(p.sum(), 1.0, atol=1e-5)
  freq = np.bincount(s @ (2 ** np.arange(3, -1, -1)), minlength=16) / n
  bound = 3 * 0.5 * np.sum(np.sqrt(2 / np.pi * p * (1 - p) / n))
  assert 0.5 * np.abs(freq - p).sum() < bound
  # A different cond gives a different distribution (so cond was not ignored).
  lp_other = model.apply(variables, x_all, jnp.broadcast_to(-c, (16, 2)), method="log_prob")
  assert 0.5 * np.abs(np.exp(np.asarray(lp_other)) - p).sum() > 10 * bound


def test_cond_per_sample_with_completion():
  model, variables = _toy(num_orders=2)
  n = 64
  cond = _cond(n, seed=3)
  x_init = jax.random.randint(jax.random.key(8), (n, 4), 0, 2)
  known = np.array([False, True, False, True])
  for use_cache in (True, False):
    out = ar_jax.sample(model, variables, jax.random.key(9), n, cond=cond, x_init=x_init,
                        known=known, use_cache=use_cache)
    np.testing.assert_array_equal(np.asarray(out)[:, known], np.asarray(x_init)[:, known])
  fast = ar_jax.sample(model, variables, jax.random.key(9), n, cond=cond, x_init=x_init,
                       known=known)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(out))


@pytest.mark.parametrize("cond", [jnp.zeros((3, 2)), jnp.zeros((2,)), jnp.zeros(())])
def test_cond_with_the_wrong_leading_axis_is_refused(cond):
  model, variables = _toy()
  with pytest.raises(ValueError, match=r"leading axis of size num_samples = 4.*\[4, \.\.\.\]"):
    ar_jax.sample(model, variables, jax.random.key(0), 4, cond=cond)


def test_cond_pytree_leaf_with_the_wrong_leading_axis_is_named():
  model, variables = _toy()
  with pytest.raises(ValueError, match=r"cond\['label'\]"):
    ar_jax.sample(model, variables, jax.random.key(0), 4,
                  cond={"features": jnp.zeros((4, 2)), "label": jnp.zeros((5,))})


@pytest.mark.parametrize("use_cache", [True, False])
def test_missing_or_unexpected_cond_is_refused_on_both_paths(use_cache):
  model, variables = _toy()
  with pytest.raises(ValueError, match="needs cond"):
    ar_jax.sample(model, variables, jax.random.key(0), 4, use_cache=use_cache)
  nade = models.get("nade", input_shape=(3,), hidden_size=2)
  v = nade.init(jax.random.key(0), jnp.zeros((1, 3), jnp.int32))
  with pytest.raises(ValueError, match="unconditional"):
    ar_jax.sample(nade, v, jax.random.key(0), 4, cond=jnp.zeros((4, 1)), use_cache=use_cache)


# ------------------------------------- per-pixel params through the sampler

class OnePixelDLM(base.ARModel):
  """Free per-pixel PixelCNN++ params for a [1, 1, 3] image with 4 levels."""
  input_shape: tuple = (1, 1, 3)
  num_classes: int = 4

  @property
  def pixel_distribution(self):
    return distributions.PixelDiscretizedLogisticMixture(2, 3, self.num_classes)

  @property
  def distribution(self):
    return self.pixel_distribution.channel_distribution

  def setup(self):
    self.pixel_params = self.param(
        "pixel_params", nn.initializers.normal(1.5), (self.pixel_distribution.num_params,))

  def __call__(self, x, cond=None):
    self.check_unconditional(cond)
    p = jnp.broadcast_to(self.pixel_params, x.shape[:-1] + self.pixel_params.shape)
    return self.pixel_distribution.channel_params(p, x)  # [B, 1, 1, 3, 3K]


def test_per_pixel_params_drive_the_per_dimension_sampler_exactly():
  model = OnePixelDLM()
  variables = model.init(jax.random.key(3), jnp.zeros((1, 1, 1, 3), jnp.int32))
  assert masks.positions(model.orderings()[0]).tolist() == [0, 1, 2]  # raster (h, w, c)
  x_all = jnp.asarray(list(itertools.product(range(4), repeat=3)), jnp.int32).reshape(64, 1, 1, 3)
  lp = model.apply(variables, x_all, method="log_prob")
  pix = model.pixel_distribution.log_prob(
      jnp.broadcast_to(variables["params"]["pixel_params"], (64, 1, 1, 20)), x_all)[:, 0, 0]
  np.testing.assert_allclose(lp, pix, atol=2e-6)
  p = np.exp(np.asarray(lp, np.float64))
  n = 40000
  s = np.asarray(ar_jax.sample(model, variables, jax.random.key(4), n)).reshape(n, 3)
  freq = np.bincount(s @ np.array([16, 4, 1]), minlength=64) / n
  bound = 3 * 0.5 * np.sum(np.sqrt(2 / np.pi * p * (1 - p) / n))
  assert 0.5 * np.abs(freq - p).sum() < bound

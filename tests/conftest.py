"""Test-wide settings: JAX rank promotion raises everywhere.

Silent broadcasting ([B, H] + [H] where [B, 1, H] was meant) is the classic
mask/shape bug, so the whole suite runs with `jax_numpy_rank_promotion="raise"`
(library code writes its broadcasts explicitly). Set here once, rather than per
module, so the result never depends on which modules share a worker.

Fixtures: `register_model` (a test model in the registry for one test; see
`testlib.registered`).
"""

import contextlib

import jax
import pytest

import testlib

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def register_model():
  """`register_model(name, cls)` registers a test model until the test ends.

  `cls` must be defined at module level (the registry imports it by name).
  Returns the name, for `ar_jax.models.get(name, ...)`.
  """
  with contextlib.ExitStack() as stack:
    yield lambda name, cls: stack.enter_context(testlib.registered(name, cls))

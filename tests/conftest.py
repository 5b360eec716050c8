"""Test-wide settings: JAX rank promotion raises everywhere.

Silent broadcasting ([B, H] + [H] where [B, 1, H] was meant) is the classic
mask/shape bug, so the whole suite runs with `jax_numpy_rank_promotion="raise"`
(library code writes its broadcasts explicitly). Set here once, rather than per
module, so the result never depends on which modules share a worker.

Each test module ends by dropping JAX's compiled programs (`jax.clear_caches`):
a worker that runs hundreds of modules would otherwise keep every executable it
ever compiled, each holding memory maps of JIT code, until the process reaches
the kernel's map limit (`vm.max_map_count`, 65530 by default) and XLA crashes
in the middle of an unrelated compile.

Fixtures: `register_model` (a test model in the registry for one test; see
`testlib.registered`); `one_short_timing_window` (benchmark smoke tests).
"""

import contextlib
import gc

from absl import flags
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


@pytest.fixture
def one_short_timing_window(monkeypatch):
  """`benchmarks.timing.median_seconds` times one ~1 ms window, not 5 over >= 1 s.

  For smoke tests of the benchmark scripts: they check that every measurement
  runs and fills its fields, not the precision of the number; the warm-up,
  calibration and timed window still run.
  """
  from benchmarks import timing  # pylint: disable=import-outside-toplevel
  real = timing.median_seconds
  monkeypatch.setattr(timing, "median_seconds", lambda fn, *args, clock="wall", **_: real(
      fn, *args, repeats=1, min_time=1e-3, clock=clock))


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
  """Drops the compiled programs of a test module when it ends (module docstring)."""
  yield
  jax.clear_caches()
  gc.collect()


@pytest.fixture(autouse=True)
def _fresh_absl_flags():
  """Each test parses the CLI's absl flags afresh (they are process globals)."""
  yield
  if flags.FLAGS.is_parsed():
    flags.FLAGS.unparse_flags()

"""ar_jax: classic autoregressive generative models in JAX/Flax.

Public entry points are imported lazily so that `import ar_jax` stays cheap:
`ar_jax.models.get(name, **hparams)`, `ar_jax.sample(...)`, `ar_jax.masks`.
"""

__version__ = "0.1.0"


def sample(*args, **kwargs):
  """Ancestral sampling; see `ar_jax.sampling.sample`."""
  from ar_jax import sampling  # pylint: disable=import-outside-toplevel
  return sampling.sample(*args, **kwargs)


def __getattr__(name):
  # Lazy submodule access: `ar_jax.masks`, `ar_jax.models`, ...
  import importlib  # pylint: disable=import-outside-toplevel
  if name in ("masks", "models", "nn", "distributions", "sampling", "data"):
    return importlib.import_module(f"ar_jax.{name}")
  raise AttributeError(f"module 'ar_jax' has no attribute {name!r}")

"""ar_jax: classic autoregressive generative models in JAX/Flax.

Public entry points are imported lazily so that `import ar_jax` stays cheap:
`ar_jax.models.get(name, **hparams)`, `ar_jax.sample(...)`, `ar_jax.masks`.
"""

__version__ = "0.1.0"


def sample(model, variables, rng, num_samples, *, cond=None, temperature=1.0,
           x_init=None, known=None, use_cache=True):
  """Draws `num_samples` samples from `model`, shape `[num_samples, *model.input_shape]`.

  Ancestral sampling in the model's generation order, as one jitted program
  whose loop over dimensions is a `jax.lax.scan` (`ar_jax.sampling`). Models
  that implement the cache protocol (`ar_jax.models.base`) take the cached
  path, which returns the same samples as the naive one for the same `rng`.
  Models with several orderings (`model.num_orderings` > 1) generate each
  sample under one ordering drawn uniformly from `model.orderings()`.

  Args:
    model: an `ARModel` (Flax module, unbound), e.g. from `ar_jax.models.get`.
    variables: its variables (`{"params": ...}`).
    rng: a `jax.random` key; it is split once per dimension, never reused.
    num_samples: number of samples N (a positive int).
    cond: conditioning input of a conditional model: an array (or a pytree of
      arrays) with leading axis N, passed to the model at every step. None for
      unconditional models (they refuse a `cond`).
    temperature: > 0; divides logits (discrete) or scales noise (continuous).
      1.0 samples the model exactly.
    x_init: optional partial input `[N, *input_shape]` for completion /
      inpainting; given together with `known`.
    known: boolean mask of the dims to keep from `x_init`, shape
      `[N, *input_shape]` or `input_shape` (applied to every sample). Each
      sampled dim is conditioned on the dims before it in the ordering.
    use_cache: take the cached path when the model has one (False forces the
      naive path, one full forward pass per dimension).

  Returns:
    Samples `[N, *input_shape]`: int32 for discrete models, float32 for
    real-valued ones.

  Raises:
    ValueError: on a bad `num_samples`, `temperature`, `x_init`/`known` pair or
      a `cond` whose leading axis is not N.
  """
  # Imported here so that `import ar_jax` stays cheap (no jax import).
  from ar_jax import sampling  # pylint: disable=import-outside-toplevel
  return sampling.sample(model, variables, rng, num_samples, cond=cond,
                         temperature=temperature, x_init=x_init, known=known,
                         use_cache=use_cache)


def __getattr__(name):
  # Lazy submodule access: `ar_jax.masks`, `ar_jax.models`, ...
  import importlib  # pylint: disable=import-outside-toplevel
  if name in ("masks", "models", "nn", "distributions", "sampling", "data"):
    return importlib.import_module(f"ar_jax.{name}")
  raise AttributeError(f"module 'ar_jax' has no attribute {name!r}")

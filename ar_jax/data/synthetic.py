"""Deterministic stand-in datasets, one per data kind, sized by their name.

A synthetic dataset name is a kind, optionally followed by `:` and
comma-separated `option=value` pairs, e.g. "synthetic:shape=4x4x1,classes=256"
or "synthetic_tokens:classes=5,train=500". Kinds:

- "synthetic": noisy copies of 8 random binary prototypes, as uint8 images
  `[N, *shape]` (binary, or 8-bit with values near 0 / classes - 1) with the
  prototype index as `label` (8 classes): learnable, and conditionable.
- "synthetic_real": float32 vectors `[N, *shape]` from a 3-component Gaussian
  mixture with correlated coordinates (real-valued models).
- "synthetic_tokens": one stream of int32 tokens in [0, classes) from a
  seeded first-order Markov chain (sequence models), with a per-position
  float32 feature `phase` = (sin, cos) of the position (a feature sequence
  to condition on).

Options (defaults, as `DEFAULTS`, in brackets):

- `shape`: the example shape, `x`-separated [28x28x1]; not for tokens.
- `classes`: values per pixel or token [2]; not for synthetic_real.
- `train`, `validation`, `test`: split sizes in examples (positions for
  tokens) [1000, 200, 200].

So "synthetic" alone stands in for binarized MNIST, and
`make_name("synthetic", shape=(32, 32, 3), classes=256)` for CIFAR-10. Every
array is a pure function of the name and the split, so any process rebuilds
the same data.
"""

import numpy as np

from ar_jax.data import specs

NAMES = ("synthetic", "synthetic_real", "synthetic_tokens")
DEFAULTS = dict(shape=(28, 28, 1), classes=2, train=1000, validation=200, test=200)
_SPLITS = ("test", "train", "validation")  # Sorted: the split's seed index.
_NOT_FOR = {"synthetic_real": "classes", "synthetic_tokens": "shape"}
_USAGE = ("expected KIND[:option=value,...] with KIND in " + ", ".join(NAMES) +
          " and options shape=AxBx..., classes=K, train=N, validation=N, test=N, "
          "e.g. 'synthetic:shape=4x4x1,classes=256'")


def is_synthetic(name):
  """Whether `name` is a synthetic dataset name (a kind, options or not)."""
  return name.partition(":")[0] in NAMES


def make_name(kind="synthetic", **options):
  """The name of synthetic dataset `kind` with `options` (keys of `DEFAULTS`).

  `make_name("synthetic", shape=(4, 4, 1), test=19)` ==
  "synthetic:shape=4x4x1,test=19"; options left out take their defaults.
  """
  parts = [f"{k}={'x'.join(str(int(d)) for d in v) if k == 'shape' else int(v)}"
           for k, v in options.items()]
  name = ":".join([kind, ",".join(parts)]) if parts else kind
  _parse(name)  # Refuses unknown kinds and options now, not at load time.
  return name


def _parse(name):
  """(kind, {option: value}) of a synthetic name, defaults filled in."""
  kind, _, rest = name.partition(":")
  if kind not in NAMES:
    raise KeyError(f"unknown synthetic dataset {name!r}; {_USAGE}")
  options = dict(DEFAULTS)
  for part in filter(None, rest.split(",")):
    key, _, value = part.partition("=")
    key = key.strip()
    if key not in DEFAULTS or key == _NOT_FOR.get(kind):
      raise ValueError(f"data.name={name!r}: option {key!r} does not apply to {kind!r}; "
                       f"{_USAGE}")
    try:
      options[key] = (tuple(int(d) for d in value.split("x")) if key == "shape"
                      else int(value))
    except ValueError:
      raise ValueError(f"data.name={name!r}: {key}={value!r} is not "
                       f"{'AxBx... of integers' if key == 'shape' else 'an integer'}; "
                       f"{_USAGE}") from None
    if min(np.atleast_1d(options[key])) < (2 if key == "classes" else 1):
      raise ValueError(f"data.name={name!r}: {key}={value!r} must be "
                       f"{'>= 2' if key == 'classes' else '>= 1'}; {_USAGE}")
  return kind, options


def spec(name):
  """The `DatasetSpec` of synthetic dataset `name`."""
  kind, o = _parse(name)
  shape, k = o["shape"], o["classes"]
  common = dict(name=name, splits={s: o[s] for s in ("train", "validation", "test")}, source="synthetic")
  if kind == "synthetic":
    return specs.DatasetSpec(
        features=specs.image_features(k, shape, num_labels=8),
        description="noisy copies of 8 random prototypes, labelled", **common)
  if kind == "synthetic_real":
    return specs.DatasetSpec(
        features=(specs.Feature("x", "float32", shape),), x="x",
        description="3-component correlated Gaussian mixture", **common)
  return specs.DatasetSpec(
      features=(specs.Feature("tokens", "int32", (), num_classes=k),
                specs.Feature("phase", "float32", (2,), value_range=(-1.0, 1.0))),
      x="tokens",
      kind="stream", description=f"first-order Markov chain over {k} tokens",
      **common)


def load(name, split):
  """{feature: array} of synthetic dataset `name`, whole split."""
  kind, o = _parse(name)
  if split not in _SPLITS:
    raise ValueError(f"synthetic data has splits {sorted(_SPLITS)}, got {split!r}")
  n, split_id = o[split], _SPLITS.index(split)
  if kind == "synthetic":
    return _images(n, o["shape"], o["classes"], split_id)
  if kind == "synthetic_real":
    return {"x": _real(n, o["shape"], split_id)}
  angle = 2 * np.pi * np.arange(n) / 16.0
  return {"tokens": _markov(n, o["classes"], split_id),
          "phase": np.stack([np.sin(angle), np.cos(angle)], -1).astype(np.float32)}


def _images(n, shape, num_classes, split_id):
  # The stream of draws is fixed: tests and their recorded values depend on it.
  protos = np.random.default_rng([7, 0]).random((8,) + shape) < 0.3
  rng = np.random.default_rng([7, 1 + split_id])
  label = rng.integers(0, 8, n)
  bits = protos[label] ^ (rng.random((n,) + shape) < 0.05)
  out = {"label": label.astype(np.int32)}
  if num_classes == 2:
    out["image"] = bits.astype(np.uint8)
    return out
  hi, lo = num_classes - 1, 0
  noise = rng.integers(0, max(1, num_classes // 8), (n,) + shape)
  out["image"] = np.where(bits, hi - noise, lo + noise).astype(np.uint8)
  return out


def _real(n, shape, split_id):
  d = int(np.prod(shape))
  base = np.random.default_rng([8, 0])
  means = base.normal(0.0, 2.0, (3, d))
  mix = base.normal(0.0, 0.5, (3, d, d))  # Per-component linear mixing.
  rng = np.random.default_rng([8, 1 + split_id])
  comp = rng.integers(0, 3, n)
  z = rng.normal(size=(n, d))
  x = means[comp] + np.einsum("nij,nj->ni", mix[comp], z) + 0.1 * z
  return x.reshape((n,) + shape).astype(np.float32)


def _markov(n, k, split_id):
  base = np.random.default_rng([9, 0])
  # Peaked rows: each token has a few likely successors, so context helps.
  trans = base.dirichlet(np.full(k, 0.3), size=k)
  cdf = np.cumsum(trans, axis=1)
  rng = np.random.default_rng([9, 1 + split_id])
  u = rng.random(n)
  out = np.empty(n, np.int32)
  t = int(rng.integers(0, k))
  for i in range(n):
    out[i] = t
    t = min(int(np.searchsorted(cdf[t], u[i], side="right")), k - 1)
  return out

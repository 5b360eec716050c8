"""Tiny deterministic datasets for tests and benchmarks, one per data kind.

Shaped by `config.data.synthetic` (`shape`, `num_classes`, `num_train`,
`num_validation`, `num_test`); every array is a pure function of those and
the split, so any process rebuilds the same data.

- "synthetic": noisy copies of 8 random binary prototypes, as uint8 images
  `[N, *shape]` (binary, or 8-bit with values near 0 / num_classes - 1) with
  the prototype index as `label` (8 classes): learnable, and conditionable.
- "synthetic_real": float32 vectors `[N, *shape]` from a 3-component Gaussian
  mixture with correlated coordinates (real-valued models).
- "synthetic_tokens": one stream of `num_<split>` int32 tokens in
  [0, num_classes) from a seeded first-order Markov chain (sequence models),
  with a per-position float32 feature `phase` = (sin, cos) of the position
  (a feature sequence to condition on).
"""

import numpy as np

from ar_jax.data import specs

NAMES = ("synthetic", "synthetic_real", "synthetic_tokens")
_SPLITS = ("test", "train", "validation")  # Sorted: the split's seed index.


def _sizes(s):
  return {"train": int(s.num_train), "validation": int(s.num_validation),
          "test": int(s.num_test)}


def spec(name, s):
  """The `DatasetSpec` of synthetic dataset `name` under options `s`."""
  shape, k = tuple(s.shape), int(s.num_classes)
  common = dict(name=name, splits=_sizes(s), source="synthetic")
  if name == "synthetic":
    return specs.DatasetSpec(
        features=specs.image_features(k, shape, num_labels=8),
        description="noisy copies of 8 random prototypes, labelled", **common)
  if name == "synthetic_real":
    return specs.DatasetSpec(
        features=(specs.Feature("x", "float32", shape),), x="x",
        description="3-component correlated Gaussian mixture", **common)
  if name == "synthetic_tokens":
    return specs.DatasetSpec(
        features=(specs.Feature("tokens", "int32", (), num_classes=k),
                  specs.Feature("phase", "float32", (2,), value_range=(-1.0, 1.0))),
        x="tokens",
        kind="stream", description=f"first-order Markov chain over {k} tokens",
        **common)
  raise KeyError(f"unknown synthetic dataset {name!r}; expected one of {NAMES}")


def load(name, split, s):
  """{feature: array} of synthetic dataset `name`, whole split."""
  sizes = _sizes(s)
  if split not in sizes:
    raise ValueError(f"synthetic data has splits {sorted(sizes)}, got {split!r}")
  n, shape = sizes[split], tuple(s.shape)
  if name == "synthetic":
    return _images(n, shape, int(s.num_classes), _SPLITS.index(split))
  if name == "synthetic_real":
    return {"x": _real(n, shape, _SPLITS.index(split))}
  if name == "synthetic_tokens":
    angle = 2 * np.pi * np.arange(n) / 16.0
    return {"tokens": _markov(n, int(s.num_classes), _SPLITS.index(split)),
            "phase": np.stack([np.sin(angle), np.cos(angle)], -1).astype(np.float32)}
  raise KeyError(f"unknown synthetic dataset {name!r}; expected one of {NAMES}")


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

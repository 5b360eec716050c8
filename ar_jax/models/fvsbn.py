"""FVSBN: fully visible sigmoid belief network (Frey 1998; Neal 1992).

Each conditional is a logistic (or, for K classes, softmax) regression on all
dimensions that precede it in the ordering:

  p(x_i | x_<i) = sigma(b_i + sum_{j before i} W_ji x_j)

implemented as one dense layer whose kernel is multiplied by a strictly
triangular mask (under the ordering). For K classes each input dim contributes
its one-hot code without the redundant class-0 column (K - 1 features), so
K = 2 is exactly the binary model above.
"""

from typing import Any

import flax.linen as nn
import numpy as np

from ar_jax import distributions
from ar_jax import masks
from ar_jax import nn as ar_nn
from ar_jax.models import base
from ar_jax.models import checks


class FVSBN(base.ARModel):
  """Fully visible sigmoid belief network.

  Attributes:
    input_shape: shape of one example, e.g. (784,) or (28, 28, 1).
    num_classes: K, the number of values per dimension (2 = binary).
    ordering: a registered name (`masks.ordering_names()`: "natural",
      "reversed", "random" (uses `seed`), "hilbert", ...) or an explicit
      permutation of range(D) (flat, row-major indices).
    ordering_shape: the shape `ordering` lays the D dims out on; () means
      input_shape. Image orderings on flat data need it, e.g. (28, 28).
    seed: seed for a random ordering.
  """
  input_shape: tuple
  num_classes: int = 2
  ordering: Any = "natural"
  ordering_shape: tuple = ()
  seed: int = 0

  def __post_init__(self):
    checks.check_input_shape(self)
    checks.check_int(self, "num_classes", low=2)
    checks.normalize_ordering(self)
    super().__post_init__()


  @property
  def distribution(self):
    return distributions.for_classes(self.num_classes)

  def orderings(self):
    return masks.ordering_pool(
        self.ordering, checks.ordering_layout(self), 1, self.seed)

  @nn.compact
  def __call__(self, x, cond=None):
    self.check_unconditional(cond)
    b, d, p = x.shape[0], self.num_dims, self.distribution.num_params
    k1 = self.num_classes - 1
    feats_BxF = self.one_hot(x)[..., 1:].reshape(b, d * k1)
    # Block (j, i) of the kernel connects dim j's K-1 features to dim i's P
    # outputs; it is kept iff j comes strictly before i in the ordering.
    tri_DxD = masks.triangular_mask(self.orderings()[0])
    mask_FxO = np.kron(tri_DxD, np.ones((k1, p), bool))
    out_BxO = ar_nn.MaskedDense(
        d * p, mask=mask_FxO, kernel_init=nn.initializers.normal(0.01),
        name="logits")(feats_BxF)
    return out_BxO.reshape((b,) + tuple(self.input_shape) + (p,))

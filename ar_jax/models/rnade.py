"""RNADE: real-valued NADE (Uria, Murray & Larochelle, 2013).

The same tied-weight recursion as NADE, on real inputs (Uria et al. 2013):
  a_1 = c,  a_{d+1} = a_d + W[:, d] x_d,  h_d = sigmoid(rho_d a_d),
where rho_d is a learned per-dimension rescaling of the activation (a_d sums
more inputs as d grows; rho_d lets each step set its own scale). Each
conditional is a mixture density network output:
  p(x_d | x_<d) = sum_k pi_dk N(x_d; mu_dk, sigma_dk^2),
  pi_d = softmax(V^pi_d h_d + b^pi_d), mu_d = V^mu_d h_d + b^mu_d,
  sigma_d = exp(V^sigma_d h_d + b^sigma_d),
with per-dimension output weights. Here the three maps are one V [D, H, 3K]
whose columns follow `distributions.MixtureOfGaussians`' layout
[logit_weights K, means K, log_scales K]. family="laplace" swaps the
component density (the paper's RNADE-MoL); activation="relu" is offered too.
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ar_jax import distributions
from ar_jax.models import checks
from ar_jax.models import nade


def _bias_init(num_components):
  """Zero logits and log-scales (unit scales); means spread as N(0, 1).

  Spread means break the symmetry between components from the first step,
  sized for roughly standardized data.
  """
  def init(key, shape, dtype=jnp.float32):
    b = jnp.zeros(shape, dtype)
    k = num_components
    return b.at[:, k:2 * k].set(jax.random.normal(key, (shape[0], k), dtype))
  return init


class RNADE(nade.TiedNADEBase):
  """Real-valued NADE with mixture-of-Gaussian (or Laplace) conditionals.

  Attributes:
    input_shape: data shape; flattened row-major to D real dims.
    hidden_size: H.
    num_components: K mixture components per conditional.
    ordering: a registered name (`masks.ordering_names()`: "natural",
      "reversed", "random" (drawn from `seed`), "hilbert", ...) or a
      permutation of range(D), as in `masks.get_ordering`.
    ordering_shape: the shape `ordering` lays the D dims out on; () means
      input_shape. Image orderings on flat data need it, e.g. (28, 28).
    seed: seed of a "random" ordering.
    family: "gaussian" (RNADE-MoG) or "laplace" (RNADE-MoL) components.
    activation: "sigmoid" (paper) or "relu"; applied to rho_d a_d.
    impl: "scan" (fast on CPU, O(BH) memory) or "cumsum" (vectorized).
  """
  input_shape: tuple
  hidden_size: int = 100
  num_components: int = 10
  ordering: Any = "natural"
  ordering_shape: tuple = ()
  seed: int = 0
  family: str = "gaussian"
  activation: str = "sigmoid"
  impl: str = "scan"


  def __post_init__(self):
    checks.check_int(self, "num_components")
    checks.check_choice(self, "family", ("gaussian", "laplace"))
    checks.check_choice(self, "activation", nade.ACTIVATIONS)
    super().__post_init__()

  @property
  def distribution(self):
    return distributions.MixtureOfGaussians(self.num_components, family=self.family)

  def setup(self):
    D, H, P = self.num_dims, self.hidden_size, self.distribution.num_params
    # Fan-in scaling as in NADE; rho starts at 1 (plain NADE activations).
    self.W = self.param("W", nn.initializers.variance_scaling(
        1.0, "fan_in", "normal", in_axis=-1, out_axis=-2), (H, D))
    self.c = self.param("c", nn.initializers.zeros, (H,))
    self.rho = self.param("rho", nn.initializers.ones, (D,))
    self.V = self.param("V", nn.initializers.variance_scaling(
        1.0, "fan_in", "normal", in_axis=-2, out_axis=-1, batch_axis=(0,)), (D, H, P))
    self.b = self.param("b", _bias_init(self.num_components), (D, P))

  def _rho(self):
    return self.rho

  def _activation(self):
    return self.activation

  def _step_features(self, x_B):
    return x_B.astype(jnp.float32)[:, None]

  def __call__(self, x, cond=None):
    self.check_unconditional(cond)
    self.check_input(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
      raise ValueError(f"RNADE: x must be a float array, got dtype {x.dtype}")
    return self._outputs(x.astype(jnp.float32).reshape(x.shape[0], self.num_dims, 1))

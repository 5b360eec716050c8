"""Autoregressive connectivity masks, as plain numpy data.

Every function here is pure and deterministic given its arguments (and `seed`
where random): it returns a numpy array (bool or float32) that a layer applies
as a weight multiplier, `kernel * mask`. Masks are never parameters.

Modules (each imports only the ones above it; every name is re-exported here):
- `orderings`: the registry of orderings (`register_ordering`, `get_ordering`,
  `ordering_names`), positions, MADE degrees and the pools of them the models
  draw (`ordering_pool`, MADE's `made_pool_v0`), with their seeding.
- `image_orderings`: the registered image orderings ("s_curve", "hilbert",
  "spiral", "zigzag"), `symmetries`, their flips and transposes, and
  `observed_first` (observed pixels first: the order for completion).
- `check`: `check_autoregressive` / `connectivity` for stacks of dense masks.
- `dense`: MADE masks from degrees, triangular masks, degree groups.
- `conv`: PixelCNN type A/B and Gated PixelCNN stack masks, and
  `check_conv_autoregressive` (unrolls conv masks on a small image).
- `causal`: causal 1-D convolution padding and attention masks.
- `local`: the per-location tap masks of the locally masked convolution
  (`local_masks`, from a pixel order), its centre-tap channel-group mask and
  order-independent kernel mask, and the raster order's live taps.

Conventions:
- An *ordering* is a permutation of range(D) listing the dims in generation
  order; the *position* of dim d is its index in the ordering (0-based).
- The MADE *degree* of input dim d is its position + 1 (1..D). A hidden unit of
  degree m may see inputs of degree <= m; an output of degree m only < m.
- Multi-feature dims: input features are flattened from [D, K] (feature d*K + k
  has dim d), outputs from [D, P] (unit d*P + p has dim d).
- A dense mask is [IN, OUT]: entry [i, o] lets input i reach output o.
"""

from ar_jax.masks.causal import causal_attention_mask, causal_conv1d_padding
from ar_jax.masks.check import AutoregressiveError, check_autoregressive, connectivity
from ar_jax.masks.conv import (check_conv_autoregressive, conv_mask, horizontal_stack_mask,
                               image_feature_dims, unroll_conv_mask, vertical_stack_mask)
from ar_jax.masks.dense import (DegreeGroups, MadeMasks, degree_groups, hidden_mask,
                                made_masks, masks_from_degrees, output_mask, triangular_mask)
from ar_jax.masks.image_orderings import observed_first, symmetries
from ar_jax.masks.local import (centre_tap_mask, local_kernel_mask, local_masks,
                                raster_live_taps, tap_offsets)
from ar_jax.masks.orderings import (chained_hidden_degrees, get_ordering, hidden_degrees,
                                    image_shape, image_shape_example, input_degrees,
                                    is_image_ordering, made_pool_v0, ordering_names,
                                    ordering_pool, positions, register_ordering)

__all__ = [
    "AutoregressiveError", "DegreeGroups", "MadeMasks", "causal_attention_mask",
    "causal_conv1d_padding", "centre_tap_mask", "chained_hidden_degrees", "check_autoregressive",
    "check_conv_autoregressive", "connectivity", "conv_mask", "degree_groups", "get_ordering",
    "hidden_degrees", "hidden_mask", "horizontal_stack_mask", "image_feature_dims",
    "image_shape", "image_shape_example", "input_degrees", "is_image_ordering",
    "local_kernel_mask", "local_masks", "made_masks",
    "made_pool_v0", "masks_from_degrees", "observed_first", "ordering_names", "ordering_pool",
    "output_mask",
    "positions", "raster_live_taps", "register_ordering", "symmetries", "tap_offsets",
    "triangular_mask", "unroll_conv_mask",
    "vertical_stack_mask",
]

"""Alias of `ar_jax.masks.conv`, kept so that existing imports keep working.

New code: `from ar_jax import masks` (`masks.conv_mask`, ...) or
`from ar_jax.masks import conv`.
"""

from ar_jax.masks.conv import (check_conv_autoregressive, conv_mask, horizontal_stack_mask,
                               image_feature_dims, unroll_conv_mask, vertical_stack_mask)

__all__ = ["check_conv_autoregressive", "conv_mask", "horizontal_stack_mask",
           "image_feature_dims", "unroll_conv_mask", "vertical_stack_mask"]

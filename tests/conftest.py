"""Test-wide settings: JAX rank promotion raises everywhere.

Silent broadcasting ([B, H] + [H] where [B, 1, H] was meant) is the classic
mask/shape bug, so the whole suite runs with `jax_numpy_rank_promotion="raise"`
(library code writes its broadcasts explicitly). Set here once, rather than per
module, so the result never depends on which modules share a worker.
"""

import jax

jax.config.update("jax_numpy_rank_promotion", "raise")

"""CLI: `python -m ar_jax.data.prepare NAME|all [--data_dir DIR]`.

Fetches, verifies and builds ar_jax datasets; see `prepare_lib`. Import
`ar_jax.data.prepare` as a function from `ar_jax.data`, not this module.
"""

import sys

from ar_jax.data import prepare_lib

if __name__ == "__main__":
  sys.exit(prepare_lib.main())

"""Speed benchmarks of ar_jax, run as modules from the repository root (see README.md)."""

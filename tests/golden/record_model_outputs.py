"""Records params, outputs and samples of every conformance case (and a few
conditional ones) to `tests/golden/model_outputs.npz`.

`tests/test_bitwise_unchanged.py` compares the current code against this file,
so a refactor that is meant to move code without changing numbers is checked
bit for bit. Re-record only for an intended numerical change, and say so in
the commit message:

    python tests/golden/record_model_outputs.py
"""

import os
import sys

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import golden_cases  # noqa: E402  (tests/golden_cases.py)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model_outputs.npz")


def main():
  arrays = {}
  for case_id, name, hp in golden_cases.cases():
    for key, value in golden_cases.compute(name, hp).items():
      arrays[f"{case_id}/{key}"] = value
    print(case_id, flush=True)
  arrays["__machine__"] = np.array(golden_cases.machine_signature())
  np.savez_compressed(OUT, **arrays)
  print(f"wrote {len(arrays)} arrays, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
  jax.config.update("jax_platforms", "cpu")
  main()

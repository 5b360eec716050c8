"""ar_jax cases for the peer harness (`../shared/peers/bench_peers.py`).

The harness loads this file through its `PEERS_EXTRA_CASES` protocol and
injects itself as the module global `bench` before running it. The cases live
in one file per model family under `benchmarks/peers/` (`dense.py`: MADE,
MADE-8000, NADE; `image.py`: PixelCNN and Gated PixelCNN; `image_pp.py`: PixelCNN++
against TFP's `tfd.PixelCNN`; `text.py`: the GPT cases);
each defines `CASES = {"<harness case prefix>/ar_jax": fn}` with the same
configuration as the peer rows of that prefix (`bench.CFG`), and this file
merges them. Usage (see `benchmarks/README.md`):

  PEERS_EXTRA_CASES=benchmarks/peer_cases.py $PEERS_VENV/bin/python \
      ../shared/peers/bench_peers.py --only peak/,made/,made8000/,nade/ \
      --json /tmp/peers.json
"""

import importlib.util
import os

_PARTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers")
_PARTS = ("dense", "image", "image_pp", "text")


def _load(part):
  """Runs benchmarks/peers/<part>.py with `bench` injected; returns its CASES."""
  path = os.path.join(_PARTS_DIR, part + ".py")
  spec = importlib.util.spec_from_file_location(f"ar_jax_peer_cases_{part}", path)
  mod = importlib.util.module_from_spec(spec)
  mod.bench = bench  # noqa: F821  (injected by bench_peers.py)
  spec.loader.exec_module(mod)
  return mod.CASES


CASES = {}
for _part in _PARTS:
  if os.path.exists(os.path.join(_PARTS_DIR, _part + ".py")):
    CASES.update(_load(_part))

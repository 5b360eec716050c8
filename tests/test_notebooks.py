"""The notebooks run headless (nbclient, tiny settings) and are committed clean.

Each notebook reads `AR_JAX_NOTEBOOK_SMALL=1` in its first code cell and then
trains and samples tiny models only. The kernel imports this checkout's
`ar_jax` (PYTHONPATH) and runs in notebooks/, as a reader's would. Committed
notebooks carry no outputs; notebooks/rendered/ holds one executed copy of
each, at the notebooks' full settings, so the plots are readable without
running anything.
"""

import base64
import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RENDERED = ROOT / "notebooks" / "rendered"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _read(path):
  nbformat = pytest.importorskip("nbformat")
  return nbformat.read(str(path), as_version=4)


def test_there_are_the_four_notebooks():
  names = [p.name for p in NOTEBOOKS]
  for prefix in ("01_masks", "02_dense_models", "03_image_models", "04_sequence_models"):
    assert f"{prefix}.ipynb" in names, f"notebooks/ lacks {prefix}.ipynb (has {names})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_headless(path, monkeypatch):
  nbclient = pytest.importorskip("nbclient")
  pytest.importorskip("ipykernel")
  nb = _read(path)
  monkeypatch.setenv("AR_JAX_NOTEBOOK_SMALL", "1")
  monkeypatch.setenv("JAX_PLATFORMS", os.environ.get("JAX_PLATFORMS", "cpu"))
  monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
      [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
  monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
  client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                   resources={"metadata": {"path": str(path.parent)}})
  try:
    client.execute()
  except nbclient.exceptions.CellExecutionError as e:
    raise AssertionError(f"{path.name} failed under AR_JAX_NOTEBOOK_SMALL=1:\n{e}") from None
  # The run drew something: at least one PNG came out.
  assert _pngs(nb), f"{path.name} ran but displayed no image"


def _pngs(nb):
  return [base64.b64decode(out["data"]["image/png"])
          for cell in nb.cells if cell.cell_type == "code"
          for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path):
  dirty = [i for i, cell in enumerate(_read(path).cells) if cell.cell_type == "code"
           and (cell.get("outputs") or cell.get("execution_count") is not None)]
  assert not dirty, (f"{path.name}: code cells {dirty} carry outputs; commit it cleared and "
                     f"render into notebooks/rendered/ instead: `jupyter execute {path.name} "
                     f"--output=rendered/{path.stem}` (notebooks/README.md)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_rendered_copy_exists_with_images(path):
  rendered = RENDERED / path.name
  assert rendered.exists(), f"no rendered copy of {path.name}: expected {rendered}"
  nb = _read(rendered)
  errors = [out.get("ename") for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]
  assert not errors, f"{rendered.name}: the rendered copy holds errors {errors}"
  pngs = _pngs(nb)
  assert pngs and all(p.startswith(PNG_MAGIC) for p in pngs), (
      f"{rendered.name} holds no PNG image output")
  # Same code as the committed notebook: a rendered copy of older code is stale.
  code = lambda n: [c.source for c in n.cells if c.cell_type == "code"]
  assert code(nb) == code(_read(path)), (
      f"{rendered.name} was executed from different code than {path.name}; re-render it")
  assert rendered.stat().st_size < 1_500_000, f"{rendered.name} is over 1.5 MB"

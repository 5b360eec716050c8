"""Every notebook's code cells run (notebooks import ar_jax; they must not rot)."""

import json
import pathlib

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
  assert NOTEBOOKS, "notebooks/ has no .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_cells_run(path, monkeypatch):
  monkeypatch.chdir(path.parent)  # notebooks use paths relative to themselves
  cells = json.loads(path.read_text())["cells"]
  scope = {"display": lambda *a, **k: None, "__name__": "__notebook__"}
  for i, cell in enumerate(c for c in cells if c["cell_type"] == "code"):
    try:
      exec(compile("".join(cell["source"]), f"{path.name}[code cell {i}]", "exec"), scope)  # pylint: disable=exec-used
    except Exception as e:  # pylint: disable=broad-except
      raise AssertionError(f"{path.name}: code cell {i} failed: {e!r}") from e

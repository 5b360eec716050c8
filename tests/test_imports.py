"""The `ar_jax` package has no import cycle, not even one hidden in a function.

The graph is read statically (`ast`), so a module that no test imports is
still checked. An edge A -> B means that module A runs `import B` or
`from B import ...`, either at import time (module level, class bodies,
module-level `if`/`try`) or inside a function. Counting function-level
imports too means no import can sit in a function just to dodge a cycle.
`from P import name` points at the submodule `P.name` when it exists, else
at the package `P`. Importing a submodule also initializes its parent
packages; those implicit edges are left out, since a package's `__init__`
importing its own submodules is the normal layout and not a cycle.
"""

import ast
import pathlib
import subprocess
import sys

import ar_jax

ROOT = pathlib.Path(ar_jax.__file__).parent
PACKAGE = "ar_jax"


def _modules():
  """{module name: path} of every module of the package."""
  out = {}
  for path in sorted(ROOT.rglob("*.py")):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
      parts.pop()
    out[".".join(parts)] = path
  return out


def _imports(tree):
  """(import node, True if it runs at import time) for every import in `tree`."""
  todo = [(node, True) for node in tree.body]
  while todo:
    node, top = todo.pop()
    if isinstance(node, (ast.Import, ast.ImportFrom)):
      yield node, top
      continue
    inner = top and not isinstance(
        node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    todo.extend((child, inner) for child in ast.iter_child_nodes(node))


def import_graph(*, top_level_only=False):
  """{module: {imported ar_jax module: line}} of the package's imports."""
  modules = _modules()
  graph = {}
  for name, path in modules.items():
    is_package = path.name == "__init__.py"
    edges = {}
    for node, top in _imports(ast.parse(path.read_text(), str(path))):
      if top_level_only and not top:
        continue
      if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
      else:
        base = node.module or ""
        if node.level:  # relative import
          anchor = name.split(".") if is_package else name.split(".")[:-1]
          anchor = anchor[:len(anchor) - node.level + 1]
          base = ".".join(anchor + ([base] if base else []))
        targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                   for a in node.names]
      for target in targets:
        if target in modules and target != name:
          edges.setdefault(target, node.lineno)
    graph[name] = edges
  return graph


def find_cycles(graph):
  """Strongly connected components with more than one module (Tarjan)."""
  index, low, stack, on_stack, cycles = {}, {}, [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in graph[v]:
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        cycles.append(sorted(component))

  for v in sorted(graph):
    if v not in index:
      visit(v)
  return cycles


def _describe(cycle, graph):
  members = set(cycle)
  return "; ".join(f"{a} -> {b} (line {line})" for a in cycle
                   for b, line in sorted(graph[a].items()) if b in members)


def test_graph_sees_known_edges():
  graph = import_graph()
  assert "ar_jax.data.specs" in graph["ar_jax.data.reading"]
  assert "ar_jax.models.base" in graph["ar_jax.models.made"]



def test_function_level_imports_are_seen():
  tree = ast.parse("import a\nclass C:\n  import b\ndef f():\n  import c\n")
  found = {node.names[0].name: top for node, top in _imports(tree)}
  assert found == {"a": True, "b": True, "c": False}


def test_cycle_finder_finds_a_cycle():
  graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
  assert find_cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_in_ar_jax():
  graph = import_graph()
  cycles = find_cycles(graph)
  assert not cycles, "import cycles in ar_jax:\n" + "\n".join(
      _describe(c, graph) for c in cycles)


def test_data_registry_imports_no_builder():
  """Reading a dataset never imports the fetching/building code."""
  code = ("import sys; from ar_jax.data import pipeline, reading, registry; "
          "bad = [m for m in ('ar_jax.data.sources', 'ar_jax.data.rda', "
          "'ar_jax.data.builders', 'ar_jax.data.prepare_lib', "
          "'ar_jax.data.text_builder', 'ar_jax.data.uci_build', "
          "'ar_jax.data.speech_build') "
          "if m in sys.modules]; print(bad); assert not bad, bad")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                        text=True, check=False)
  assert proc.returncode == 0, proc.stdout + proc.stderr


def test_specs_imports_no_dataset():
  assert not import_graph()["ar_jax.data.specs"]

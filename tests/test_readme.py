"""The README and docs tell the truth: CI runs the README's test command, the
README stays a short model README, its result numbers come only from the
generated blocks, and every relative link resolves."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 250
# Blocks that experiments/make_results.py writes into the README.
GENERATED_BLOCKS = ("models", "headline", "completion")
# Decimal numbers the README may type outside generated blocks and code: the
# minimum Python version.
ALLOWED_DECIMALS = {"3.11"}


def _readme_commands():
  text = README.read_text()
  blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S)
  return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def _without_code(text):
  """`text` with fenced code blocks and inline code spans removed."""
  text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
  return re.sub(r"`[^`]*`", "", text)


def _without_generated(text):
  for name in GENERATED_BLOCKS:
    text = re.sub(rf"<!-- generated:{name} -->.*?<!-- /generated:{name} -->", "", text,
                  flags=re.S)
  return text


def _slug(heading):
  """GitHub's anchor for a markdown heading."""
  s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
  return s.replace(" ", "-")


def _anchors(path):
  """Heading anchors plus explicit `<a id="...">` anchors of a markdown file."""
  text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
  headings = {_slug(h) for h in re.findall(r"^#+\s+(.*)$", text, flags=re.M)}
  return headings | set(re.findall(r'<a id="([^"]+)"></a>', text))


def _relative_links(path):
  """(target, anchor) of each relative markdown link in `path`, outside code."""
  text = _without_code(path.read_text())
  links = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)
  out = []
  for link in links:
    if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto:
      continue
    target, _, anchor = link.partition("#")
    out.append((target, anchor))
  return out


def _linking_docs():
  docs = [README, *sorted((ROOT / "docs").glob("*.md"))]
  docs += [p for p in (ROOT / "benchmarks" / "README.md", ROOT / "experiments" / "RESULTS.md")
           if p.is_file()]
  return docs


def test_ci_runs_exactly_the_readme_test_command():
  cmds = [c for c in _readme_commands() if "pytest" in c]
  assert len(cmds) == 1, f"README must show exactly one test command, found {cmds}"
  ci = (ROOT / ".ci" / "run").read_text().splitlines()
  assert cmds[0] in [line.strip() for line in ci], (
      f"README test command {cmds[0]!r} is not a line of .ci/run")


def test_readme_main_command_uses_existing_config():
  cmds = [c for c in _readme_commands() if "ar_jax.main" in c]
  assert len(cmds) == 1, f"README must show exactly one main command, found {cmds}"
  config = re.search(r"--config=([^\s:]+)", cmds[0]).group(1)
  assert (ROOT / config).is_file(), f"README main command names a missing config {config}"


def test_readme_is_short():
  n = len(README.read_text().splitlines())
  assert n <= MAX_README_LINES, (
      f"README.md has {n} lines, more than {MAX_README_LINES}: move detail to docs/, "
      "benchmarks/README.md or experiments/RESULTS.md and link it")


def test_readme_has_each_generated_block_once():
  text = README.read_text()
  for name in GENERATED_BLOCKS:
    opening = text.count(f"<!-- generated:{name} -->")
    closing = text.count(f"<!-- /generated:{name} -->")
    assert opening == closing == 1, (
        f"README.md must hold exactly one '<!-- generated:{name} -->' ... "
        f"'<!-- /generated:{name} -->' block; found {opening} opening, {closing} closing")
    assert text.index(f"<!-- generated:{name} -->") < text.index(f"<!-- /generated:{name} -->")


def test_readme_types_no_result_numbers():
  """Result numbers reach the README only through the generated blocks."""
  prose = _without_code(_without_generated(README.read_text()))
  numbers = re.findall(r"\d+\.\d+|\d+(?:\.\d+)?\s?(?:%|x\b|×)", prose)
  typed = [n for n in numbers if n not in ALLOWED_DECIMALS]
  assert not typed, (
      f"README.md types the number(s) {typed} outside the generated blocks: results belong "
      "in experiments/results/ records, from which experiments/make_results.py writes them")


def test_relative_links_resolve():
  broken = []
  for doc in _linking_docs():
    for target, anchor in _relative_links(doc):
      path = (doc.parent / target).resolve() if target else doc
      if not path.exists():
        broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
      elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
        broken.append(f"{doc.relative_to(ROOT)}: {target}#{anchor} (no such heading)")
  assert not broken, "broken relative links:\n  " + "\n  ".join(broken)


def test_link_checker_finds_a_broken_link(tmp_path):
  """The checker itself: a link to a missing file and a missing heading are found."""
  doc = tmp_path / "x.md"
  doc.write_text("# Title\n\nSee [a](missing.md), [b](#title), [c](#nope), "
                 "[d](https://example.org/y.md) and `[e](ignored.md)`.\n")
  links = _relative_links(doc)
  assert links == [("missing.md", ""), ("", "title"), ("", "nope")]
  assert "title" in _anchors(doc) and "nope" not in _anchors(doc)

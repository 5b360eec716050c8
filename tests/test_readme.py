"""The README's commands are the ones CI runs (a README that lies is a bug)."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_commands():
  text = (ROOT / "README.md").read_text()
  blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S)
  return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


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

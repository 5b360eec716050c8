"""TPU_SETUP.md against the code: every command, flag, script, file and config key it names exists.

The commands in its code blocks are split into words (`--command '...'`
strings are read as commands too) and checked by program:
`python -m ar_jax.main` and `ar-jax train` flags are defined by the
launcher (`--config.<key>` keys by `configs.default_config`, `--config=FILE`
files exist), `python -m ar_jax.data.prepare` names registered datasets and
its own flags, and each `experiments/run_pod.sh` command is run with
`--dry_run`, and the trainer command it prints is checked the same way; the
experiment scripts (`experiments/device_check.sh`, `python experiments/*.py`)
must exist and list every flag used in their `--help`.
Inline `train.x`-style keys, repository paths and links must exist too, and
the restart loop waits for `ar_jax.main.EXIT_PREEMPTED`.
"""

import os
import re
import shlex
import subprocess
import sys

import pytest

from ar_jax import cli  # pylint: disable=unused-import  (defines the eval/sample flags)
from ar_jax import configs
from ar_jax import main as launcher
from ar_jax.data import registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "TPU_SETUP.md")
TEXT = open(DOC, encoding="utf-8").read()
CODE = re.findall(r"```[a-z]*\n(.*?)```", TEXT, re.S)
PLACEHOLDER = re.compile(r"\$[A-Z_]+|<[^>]*>|\bBUCKET\b")
PREPARE_FLAGS = {"--data_dir", "--force"}
GCLOUD_FLAGS = {"--accelerator-type", "--command", "--worker", "--zone", "--version"}
SECTIONS = ("data", "model", "optim", "train", "eval")


def _logical_lines(script):
  """Lines of a snippet, continuations and quoted newlines joined."""
  buf = ""
  for line in script.replace("\\\n", " ").splitlines():
    buf = f"{buf}\n{line}" if buf else line
    try:
      shlex.split(buf)
    except ValueError:  # An open quote: the string goes on.
      continue
    yield buf
    buf = ""


def _commands(script):
  """Each simple command of a shell snippet, as words (placeholders filled in).

  `--command '...'` strings (the remote commands of `gcloud ... ssh`) are
  commands too.
  """
  for line in _logical_lines(PLACEHOLDER.sub("x", script)):
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split, lex.commenters = True, "#"
    words = []
    for tok in list(lex) + [";"]:
      if tok not in ("&&", ";", "||", "|", "(", ")"):
        words.append(tok)
        continue
      if words:
        yield words
        if "--command" in words:
          yield from _commands(words[words.index("--command") + 1])
      words = []


def _config_key_exists(key):
  node = configs.default_config()
  for part in key.split("."):
    if part not in node:
      return False
    node = node[part]
  return True


def _check_trainer_flags(words):
  for w in words:
    if not w.startswith("--"):
      continue
    name, _, value = w[2:].partition("=")
    if name.startswith("config."):
      assert _config_key_exists(name[len("config."):]), f"{w}: no such config key"
    elif name == "config":
      assert os.path.isfile(os.path.join(ROOT, value.split(":")[0])), f"{w}: no such file"
    else:
      assert name in launcher.FLAGS, f"{w}: ar_jax.main defines no such flag"


def _check(words):
  """Checks one command; returns what it was (for the coverage assertion)."""
  while words and (words[0] == "env" or re.match(r"^[A-Z_]+=", words[0])):
    words = words[1:]  # `env VAR=value cmd ...` runs cmd.
  if words[:3] == ["python", "-m", "ar_jax.main"] or words[:2] == ["ar-jax", "train"]:
    _check_trainer_flags(words[2:])
    return "train"
  if words[:3] == ["python", "-m", "ar_jax.data.prepare"]:
    args = words[3:]
    assert {a.split("=")[0] for a in args if a.startswith("--")} <= PREPARE_FLAGS, args
    names = [a for a in args if not a.startswith("--")]
    assert names and all(n == "all" or n in registry.DATASETS for n in names), names
    return "prepare"
  if words[:3] == ["pip", "install", "-e"]:
    extras = re.match(r"\.\[(.*)\]$", words[3]).group(1).split(",")
    setup = open(os.path.join(ROOT, "setup.cfg"), encoding="utf-8").read()
    for extra in extras:
      assert re.search(rf"^{extra} =", setup, re.M), f"setup.cfg has no extra {extra!r}"
    return "install"
  script = {"experiments/device_check.sh": "experiments/device_check.py"}.get(
      words[0], words[1] if words[0] == "python" and words[1].startswith("experiments/") else None)
  if script:
    assert os.path.isfile(os.path.join(ROOT, script)), f"{script}: no such script"
    p = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True,
                       check=False)
    assert p.returncode == 0, p.stderr
    for w in words:
      if w.startswith("--"):
        assert w.split("=")[0] in p.stdout, f"{script} has no flag {w}"
    return "experiment"
  if words[0] == "experiments/run_pod.sh":
    # --dry_run right after the mode: words after "--" go to the trainer.
    p = subprocess.run(words[:2] + ["--dry_run"] + words[2:], cwd=ROOT,
                       capture_output=True, text=True, check=False)
    assert p.returncode == 0, p.stderr
    printed = shlex.split(p.stdout)
    inner = printed[printed.index("--command") + 1] if "--command" in printed else p.stdout
    trainer = [c for c in _commands(inner) if _check(c) == "train"]
    assert len(trainer) == 1, p.stdout
    return "run_pod"
  return None


def test_every_command_in_the_code_blocks_exists():
  kinds = [_check(words) for block in CODE for words in _commands(block)]
  # The guide launches the trainer, prepares data and uses the pod launcher.
  assert {"install", "train", "prepare", "run_pod", "experiment"} <= set(kinds), kinds


def test_inline_config_keys_exist():
  keys = set(re.findall(rf"`(?:--config\.)?((?:{'|'.join(SECTIONS)})\.\w+)", TEXT))
  assert "train.param_sharding" in keys and "train.fsdp_min_size" in keys
  for key in keys:
    assert _config_key_exists(key), key
  for value in re.findall(r"param_sharding=(\w+)", TEXT):
    assert value in configs.PARAM_SHARDINGS, value


def test_inline_flags_are_defined():
  run_pod = open(os.path.join(ROOT, "experiments", "run_pod.sh"), encoding="utf-8").read()
  for flag in set(re.findall(r"`(--[a-z_-]+)", TEXT)) - GCLOUD_FLAGS:
    name = flag[2:]
    assert (name in launcher.FLAGS or flag in PREPARE_FLAGS
            or re.search(rf"^\s*{flag}\)", run_pod, re.M)), flag


def test_named_files_and_links_exist():
  paths = set(re.findall(r"[`(]((?:experiments|docs|ar_jax|benchmarks)/[\w./-]+?)[`)#]", TEXT))
  assert "experiments/run_pod.sh" in paths
  for path in paths:
    assert os.path.exists(os.path.join(ROOT, path)), path


def test_restart_loop_waits_for_the_preempted_exit_code():
  codes = re.findall(r'-eq (\d+)', TEXT) + re.findall(r"code \*\*(\d+)\*\*", TEXT)
  assert codes and {int(c) for c in codes} == {launcher.EXIT_PREEMPTED}


@pytest.mark.parametrize("argv,message", [
    (["tpu", "--name", "n", "--zone", "z", "--config", "c.py", "--workdir", "runs/x"],
     "not a bucket path"),
    (["tpu", "--zone", "z", "--config", "c.py", "--workdir", "gs://b/x"], "missing --name"),
    (["gpu", "--config", "c.py", "--workdir", "w", "--lr", "1"], "unknown option '--lr'"),
    (["tpuu"], "unknown mode 'tpuu'"),
])
def test_run_pod_refuses_bad_arguments(argv, message):
  p = subprocess.run(["experiments/run_pod.sh", *argv[:1], "--dry_run", *argv[1:]], cwd=ROOT,
                     capture_output=True, text=True, check=False)
  assert p.returncode == 2 and message in p.stderr, p.stderr

"""Checksums of prepared data: the manifest `prepare` writes and runs verify.

`prepare` ends by writing `checksums.json` into the dataset's prepared dir
(`<data_dir>/<tfds_name>/<version>/`): the sha256 and size of every file
there, and the split each array_record file holds (None for files every
split needs: `dataset_info.json`, `features.json`, a vocabulary). A run
checks the files of the splits it reads against it before its first step;
a mismatch, a missing file or an unreadable record raises
`DataIntegrityError`, whose message names the dataset, the file and the
command that rebuilds it.
"""

import hashlib
import json
import os

from ar_jax.data import specs

MANIFEST_FILE = "checksums.json"
_FORMAT = 1


class DataIntegrityError(ValueError):
  """Prepared data on disk is damaged; the message names the file and the fix."""


def damaged(name, path, data_dir, problem):
  """A `DataIntegrityError` for `path` of dataset `name`, with the fix."""
  return DataIntegrityError(
      f"prepared dataset {name!r} is damaged: {path}: {problem}. Rebuild it with: "
      f"{specs.prepare_command(name, specs.resolve_data_dir(data_dir), force=True)}")


def sha256_file(path):
  """Hex sha256 of the file at `path`, read in 1 MiB blocks."""
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      h.update(block)
  return h.hexdigest()


def split_of_file(filename, tfds_name):
  """The split a TFDS data file holds (`<tfds_name>-<split>.<format>-...`), else None."""
  prefix = f"{tfds_name}-"
  if not filename.startswith(prefix) or "." not in filename:
    return None
  return filename[len(prefix):].split(".", 1)[0]


def write_manifest(root, name, tfds_name):
  """Records the sha256 of every file under `root` in `root/checksums.json`."""
  files = {}
  for dirpath, _, filenames in os.walk(root):
    for f in sorted(filenames):
      path = os.path.join(dirpath, f)
      rel = os.path.relpath(path, root)
      if rel == MANIFEST_FILE or f.endswith(".tmp"):
        continue
      files[rel] = {"sha256": sha256_file(path), "bytes": os.path.getsize(path),
                    "split": split_of_file(f, tfds_name)}
  manifest = {"format": _FORMAT, "dataset": name, "files": files}
  tmp = os.path.join(root, MANIFEST_FILE + ".tmp")
  with open(tmp, "w", encoding="utf-8") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
  os.replace(tmp, os.path.join(root, MANIFEST_FILE))
  return manifest


def read_manifest(root):
  """The manifest in `root`, or None if `prepare` wrote none there."""
  path = os.path.join(root, MANIFEST_FILE)
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def check_files(root, name, manifest, splits, data_dir):
  """Verifies the files of `splits` (and the shared ones) against `manifest`.

  Args:
    splits: base split names ("train", not "train[:100]"); None = all.
  Raises:
    DataIntegrityError: a file is missing, has another size or sha256, or
      the manifest lists no file for a requested split.
  """
  wanted = set(splits) if splits is not None else None
  seen = set()
  for rel, entry in sorted(manifest["files"].items()):
    split = entry["split"]
    if wanted is not None and split is not None and split not in wanted:
      continue
    seen.add(split)
    path = os.path.join(root, rel)
    if not os.path.exists(path):
      raise damaged(name, path, data_dir, "the file is missing")
    if os.path.getsize(path) != entry["bytes"]:
      raise damaged(name, path, data_dir, f"{os.path.getsize(path)} bytes, "
                    f"{entry['bytes']} when prepared")
    got = sha256_file(path)
    if got != entry["sha256"]:
      raise damaged(name, path, data_dir, f"sha256 {got}, {entry['sha256']} "
                    "when prepared")
  for split in sorted((wanted or set()) - seen):
    raise damaged(name, os.path.join(root, MANIFEST_FILE), data_dir,
                  f"no file of split {split!r} is recorded")

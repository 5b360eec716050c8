"""The README's "Speed vs peers" table from one JSON written by the peer harness.

  python benchmarks/peer_table.py RESULTS.json [--command "..."] [--date YYYY-MM-DD]

For every case prefix that has an ar_jax row (`<prefix>/ar_jax...`), prints one
training row and, when ar_jax sampled, one sampling row, each with the
fastest peer of that prefix in the same run and the ratio ar_jax / that peer
(> 1: ar_jax is faster; "-" when no peer row of the prefix succeeded).
Training compares steps/s (examples/s when the batches differ, tokens/s where
the rows report it), sampling compares seconds per drawn example. An ar_jax row may name the peer rows it is comparable with in a
`compare_to` list (e.g. a PixelCNN++ row against `pixelcnn/tfp` only); by
default it is compared with every other row of its prefix. Rows timed while
other processes used more than 0.2 cores (the harness's `foreign_cpus_*`) are
marked with `*`. Only numbers of this one file are used: ratios across runs
are not comparable on a shared machine.
"""

import argparse
import json


def _throughput(row, batches):
  """Training speed: steps/s if every compared row has the same batch, else per example."""
  if "tokens_per_s" in row:
    return row["tokens_per_s"], "tokens/s"
  if len(batches) > 1 and "batch" in row:
    return row["steps_per_s"] * row["batch"], "examples/s"
  return row["steps_per_s"], "steps/s"


def _per_sample_s(row):
  return row["sample_s"] / row.get("sample_n", 1)


def _loaded(row, kind):
  return (row.get(f"foreign_cpus_{kind}") or 0.0) > 0.2


def _fmt(value, loaded):
  return f"{value:.3g}{'*' if loaded else ''}"


def rows(results):
  """Table rows (case, peer, peer value, ar_jax value, ratio) of one harness run."""
  out = []
  for name, mine in results.items():
    prefix, who = name.split("/", 1)
    if not who.startswith("ar_jax") or "steps_per_s" not in mine:
      continue
    names = mine.get("compare_to") or [
        n for n in results if n.split("/")[0] == prefix and not n.split("/")[1].startswith("ar_jax")]
    peers = {n: results[n] for n in names if n in results and "error" not in results[n]}
    failed = "; ".join(f"{n}: {results[n]['error']}" for n in names
                       if n in results and "error" in results[n])
    train = {n: r for n, r in peers.items() if "steps_per_s" in r}
    batches = {r.get("batch") for r in list(train.values()) + [mine]}
    speed = lambda r: _throughput(r, batches)[0]  # noqa: E731
    unit = _throughput(mine, batches)[1]
    if train:
      best = max(train, key=lambda n: speed(train[n]))
      out.append((f"{name} train ({unit})", best, _fmt(speed(train[best]), _loaded(train[best], "train")),
                  _fmt(speed(mine), _loaded(mine, "train")), speed(mine) / speed(train[best])))
    else:
      out.append((f"{name} train ({unit})", f"none ({failed or 'no peer row'})", "-",
                  _fmt(speed(mine), _loaded(mine, "train")), None))
    sampled = {n: r for n, r in peers.items() if "sample_s" in r}
    if "sample_s" in mine:
      n = mine.get("sample_n", 1)
      if sampled:
        best = min(sampled, key=lambda k: _per_sample_s(sampled[k]))
        out.append((f"{name} sample {n} (s)", best,
                    _fmt(_per_sample_s(sampled[best]) * n, _loaded(sampled[best], "sample")),
                    _fmt(mine["sample_s"], _loaded(mine, "sample")),
                    _per_sample_s(sampled[best]) / _per_sample_s(mine)))
      else:
        out.append((f"{name} sample {n} (s)", f"none ({failed or 'no peer row'})", "-",
                    _fmt(mine["sample_s"], _loaded(mine, "sample")), None))
  return out


def markdown(data, command=None, date=None):
  lines = []
  results = data.get("results", {})
  peaks = [f"{name.split('/', 1)[1]} {r['gflops']:.0f}{'*' if _loaded(r, 'train') else ''}"
           for name, r in results.items() if name.startswith("peak/") and "gflops" in r]
  if peaks:
    lines.append("Matmul peak of this run (f32 3072², median GFLOP/s): " + ", ".join(peaks) + ".")
  machine = data.get("machine", {})
  lines.append(f"Machine: {machine.get('cpu', '?')}, {machine.get('logical_cpus', '?')} logical "
               f"CPUs, {data.get('threads', '?')} threads per case" +
               (f"; run {date}" if date else "") + ".")
  if command:
    lines.append(f"Command: `{command}`")
  lines += ["", "| case | fastest peer, same run | peer | ar_jax | ratio |",
            "|---|---|---|---|---|"]
  for case, peer, peer_v, mine_v, ratio in rows(results):
    lines.append(f"| {case} | {peer} | {peer_v} | {mine_v} | "
                 f"{'-' if ratio is None else f'{ratio:.2f}×'} |")
  lines.append("")
  lines.append("Ratio = ar_jax / fastest peer (> 1: ar_jax faster). * = timed while other "
               "processes used > 0.2 cores.")
  return "\n".join(lines)


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("json", help="the harness's --json output")
  ap.add_argument("--command", help="the harness command, quoted in the table's header")
  ap.add_argument("--date", help="the run's date, quoted in the table's header")
  a = ap.parse_args()
  with open(a.json) as f:
    print(markdown(json.load(f), a.command, a.date))


if __name__ == "__main__":
  main()

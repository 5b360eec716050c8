"""Convolutional image models: training throughput and naive vs cached sampling.

  python -m benchmarks.image [--models pixelcnn,gated_pixelcnn,...] [--quick]
      [--out PATH] [--hparams JSON] [--naive-budget-s 30] [--batches 1,16]

Everything is measured in one run, so the ratios compare:
1. the float32 matmul peak (`timing.matmul_peak`), measured first;
2. per model, a jitted Adam train step on 28x28x1 binary images, batch 32 (the
   peer harness's configuration): images/s and achieved GFLOP/s, the FLOPs
   being XLA's own count of the compiled step (`cost_analysis`; masked
   kernel entries are computed, so they count);
3. per model, sampling at 8x8x1, 16x16x1, 28x28x1 (binary) and 32x32x3
   (256-way; PixelCNN widths rounded up to multiples of 3), batch 1 and 16:
   the cached sampler timed end to end; the naive sampler (one full forward
   pass per generated dim) timed end to end where it takes under
   `--naive-budget-s`, otherwise extrapolated as D times the measured time of
   one forward pass at that batch, which is what a naive step runs (the table
   says which; at the small sizes both are shown, so the extrapolation can be
   checked against the real run).

Model sizes: `MODEL_HPARAMS` below (the peer harness's configurations);
`--hparams '{"name": {...}}'` overrides them or sizes another registered
image model. Prints two tables; JSON to `--out` (default
`benchmarks/results/image.json`).
"""

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np

import ar_jax
from ar_jax import models
from benchmarks import timing

# The peer harness's configurations (its CFG; see benchmarks/peers.py).
MODEL_HPARAMS = {
    "pixelcnn": {"num_blocks": 4, "residual_channels": 32, "head_channels": 32},
    "gated_pixelcnn": {"num_layers": 4, "channels": 32, "head_channels": 32},
    # TFP's tfd.PixelCNN row (the peer case "pixelcnn/ar_jax-pp").
    "pixelcnn_pp": {"num_filters": 32, "num_resnet": 1, "num_levels": 2, "num_mixtures": 5,
                    "dropout": 0.0, "weight_norm": True},
    # No peer row: this library's size, the width of the PixelCNN rows.
    "diagonal_bilstm": {"num_layers": 4, "hidden_channels": 16, "head_channels": 32},
    # pytorch-generative's PixelSNAIL row (the peer case "pixelsnail/ar_jax").
    "pixelsnail": {"num_filters": 32, "num_blocks": 2, "num_resnet": 2, "key_size": 4,
                   "value_size": 16, "output": "categorical", "weight_norm": False},
    # No peer row: PixelCNN's widths (h = 16 LSTM units, a 32-channel stream).
    "row_lstm": {"num_layers": 4, "hidden_channels": 16, "head_channels": 32},
}
QUICK_HPARAMS = {
    "pixelcnn": {"num_blocks": 1, "residual_channels": 3, "head_channels": 3},
    "gated_pixelcnn": {"num_layers": 1, "channels": 3, "head_channels": 3},
    "pixelcnn_pp": {"num_filters": 4, "num_resnet": 1, "num_levels": 2, "num_mixtures": 2,
                    "dropout": 0.0},
    "diagonal_bilstm": {"num_layers": 1, "hidden_channels": 3, "head_channels": 3},
    "pixelsnail": {"num_filters": 4, "num_blocks": 1, "num_resnet": 1, "key_size": 2,
                   "value_size": 2},
    "row_lstm": {"num_layers": 1, "hidden_channels": 3, "head_channels": 3},
}
# (shape, num_classes) of the sampling sizes.
SAMPLE_SIZES = (((8, 8, 1), 2), ((16, 16, 1), 2), ((28, 28, 1), 2), ((32, 32, 3), 256))
QUICK_SIZES = (((3, 3, 1), 2), ((2, 2, 3), 256))


def model_hparams(name, overrides, quick):
  """The sizes of model `name`: `--hparams` if given, else MODEL_HPARAMS (QUICK_HPARAMS)."""
  table = QUICK_HPARAMS if quick else MODEL_HPARAMS
  if name in overrides:
    return dict(overrides[name])
  if name not in table:
    raise ValueError(
        f"--models: no benchmark sizes for {name!r}; sizes exist for {sorted(table)}. For "
        f"another image model pass them: --hparams '{{\"{name}\": {{...}}}}'")
  return dict(table[name])


def train_speed(name, hparams, shape=(28, 28, 1), batch=32):
  """Images/s and GFLOP/s of a jitted, donated Adam step on random binary images."""
  model = models.get(name, input_shape=shape, **hparams)
  x = jax.random.bernoulli(jax.random.key(0), 0.13, (batch,) + shape).astype(jnp.int32)
  step, state = timing.adam_step(model, x)
  variables = state[0]
  flops = timing.compiled_flops(jax.jit(step), state)
  sec = timing.carried_seconds(jax.jit(step, donate_argnums=0), state)
  return {"model": name, "hparams": hparams, "shape": list(shape), "batch": batch,
          "params": int(sum(p.size for p in jax.tree.leaves(variables))),
          "images_per_s": batch / sec, "step_s": sec, "flops_per_step": flops,
          "gflops": flops / sec / 1e9}


# Widths that channel-grouped models split into one group per image channel.
GROUPED_WIDTHS = ("residual_channels", "head_channels", "channels", "hidden_channels")


def fit_channels(name, hparams, channels):
  """`hparams` with grouped widths rounded up to a multiple of `channels` (RGB)."""
  if name not in ("pixelcnn", "gated_pixelcnn", "diagonal_bilstm", "row_lstm"):
    return hparams
  return {k: (-(-v // channels) * channels if k in GROUPED_WIDTHS else v)
          for k, v in hparams.items()}


def sampling_speed(name, hparams, shape, num_classes, batch, naive_budget_s, repeats):
  """Cached vs naive sampling seconds for `batch` images of `shape`."""
  hparams = fit_channels(name, hparams, shape[-1])
  model = models.get(name, input_shape=shape, num_classes=num_classes, **hparams)
  x = jnp.zeros((batch,) + shape, jnp.int32)
  variables = model.init(jax.random.key(0), x)
  d = int(np.prod(shape))
  keys = iter(jax.random.split(jax.random.key(1), 4 * repeats + 8))
  row = {"model": name, "shape": list(shape), "num_classes": num_classes, "batch": batch,
         "dims": d, "hparams": hparams}
  cached = lambda: ar_jax.sample(model, variables, next(keys), batch, use_cache=True)
  row["cached_s"] = timing.median_seconds(cached, repeats=repeats, min_time=0.0)
  fwd = jax.jit(model.apply)
  t_fwd = timing.median_seconds(fwd, variables, x, repeats=max(repeats, 3), min_time=0.0)
  row["forward_s"] = t_fwd
  row["naive_extrapolated_s"] = d * t_fwd
  row["naive_s"] = None
  if d * t_fwd < naive_budget_s:
    naive = lambda: ar_jax.sample(model, variables, next(keys), batch, use_cache=False)
    row["naive_s"] = timing.median_seconds(naive, repeats=1, min_time=0.0)
  naive_s = row["naive_s"] if row["naive_s"] is not None else row["naive_extrapolated_s"]
  row["speedup"] = naive_s / row["cached_s"]
  return row


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--models", default="pixelcnn,gated_pixelcnn")
  p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
  p.add_argument("--out", default=None)
  p.add_argument("--hparams", default="{}", help='JSON {"model": {hparam: value}}')
  p.add_argument("--naive-budget-s", type=float, default=30.0,
                 help="run the naive sampler end to end only below this estimate")
  p.add_argument("--batches", default="1,16")
  args = p.parse_args(argv)
  overrides = json.loads(args.hparams)
  names = [n.strip() for n in args.models.split(",") if n.strip()]
  hps = {n: model_hparams(n, overrides, args.quick) for n in names}
  batches = [int(b) for b in args.batches.split(",")]
  sizes = QUICK_SIZES if args.quick else SAMPLE_SIZES
  repeats = 1 if args.quick else 3

  peak = timing.matmul_peak(sizes=((64, 64, 64),) if args.quick else (
      (1024, 1024, 1024), (2048, 2048, 2048)))
  print(f"matmul peak (float32, this run): {peak:.1f} GFLOP/s", flush=True)
  train = []
  for n in names:
    r = train_speed(n, hps[n], shape=(4, 4, 1) if args.quick else (28, 28, 1),
                    batch=4 if args.quick else 32)
    r["pct_peak"] = 100 * r["gflops"] / peak
    train.append(r)
    print(f"train {n}: {r['images_per_s']:.1f} images/s, {r['gflops']:.1f} GFLOP/s "
          f"({r['pct_peak']:.1f}% of peak), {r['params']} params", flush=True)
  sampling = []
  for n in names:
    for shape, k in sizes:
      for b in batches:
        r = sampling_speed(n, hps[n], shape, k, b, args.naive_budget_s, repeats)
        sampling.append(r)
        print(f"sample {n} {shape} K={k} B={b}: cached {r['cached_s']:.3f} s, naive "
              f"{_naive_str(r)}, {r['speedup']:.0f}x", flush=True)

  print("\n| model | params | train images/s | GFLOP/s | % of matmul peak |")
  print("|---|---|---|---|---|")
  for r in train:
    print(f"| {r['model']} | {r['params']:,} | {r['images_per_s']:.0f} | {r['gflops']:.1f} | "
          f"{r['pct_peak']:.0f}% |")
  print("\n| model | image | batch | cached s | naive s | naive / cached |")
  print("|---|---|---|---|---|---|")
  for r in sampling:
    img = "x".join(map(str, r["shape"])) + f" (K={r['num_classes']})"
    print(f"| {r['model']} | {img} | {r['batch']} | {r['cached_s']:.3f} | {_naive_str(r)} | "
          f"{r['speedup']:.0f}x |")
  timing.write_record(args.out or timing.default_out("image", args.quick),
                      {"train": train, "sampling": sampling}, matmul_peak_gflops=peak,
                      quick=args.quick)
  return {"peak": peak, "train": train, "sampling": sampling}


def _naive_str(r):
  if r["naive_s"] is not None:
    return f"{r['naive_s']:.3f}"
  return f"~{r['naive_extrapolated_s']:.1f} (extrapolated: D x forward)"


if __name__ == "__main__":
  main()

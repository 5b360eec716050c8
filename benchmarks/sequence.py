"""Sequence models (text and audio): training throughput and naive vs cached sampling.

  python -m benchmarks.sequence [--family text|audio|all] [--quick] [--out PATH]

Text (`char_rnn` 2 x 256 LSTM and the `transformer` at its `:cpu` size, 4
layers x 128, 76 classes as shakespeare_char): training tokens/s of a jitted,
donated Adam step at batch 8, and sampling tokens/s (batch x T / seconds of
one `ar_jax.sample` call), naive (one full forward pass per token, O(T) each)
against cached (the model's `cached_step`: the LSTM state, or a KV cache), at
T = 64, 256, 1024 and batch 1 and 8. The naive sampler is timed up to
T = `NAIVE_MAX_T`: its cost grows as T^2, and its row says "not run" (None)
beyond.

Audio (`wavenet`, the two configurations of experiments/configs/wavenet_speech.py):
generation of T samples at 8 kHz (T = 8000 is 1 s), cached (Fast WaveNet)
timed end to end; naive re-runs the model on the whole [B, T] sequence per
step, which takes hours at T = 8000, so one naive step (a jitted forward pass
over [B, T] plus the draw, the body of the naive scan) is timed and multiplied
by T (column `naive_extrapolated`). Training: samples/s of a jitted, donated
Adam step on [B, T] windows.

Prints one table per family; JSON to `--out` (default
`benchmarks/results/sequence.json`).
"""

import argparse

import jax
import jax.numpy as jnp

import ar_jax
from ar_jax import models
from benchmarks import timing

NUM_CLASSES = 76  # shakespeare_char's vocabulary
NAIVE_MAX_T = 256
# label -> (registry name, hparams).
TEXT_MODELS = {
    "char_rnn lstm 2x256": ("char_rnn", dict(cell="lstm", num_layers=2, hidden_size=256,
                                            embed_size=64)),
    "transformer 4x128": ("transformer", dict(num_layers=4, num_heads=4, width=128)),
}
TEXT_QUICK = {"char_rnn": dict(cell="lstm", num_layers=1, hidden_size=8, embed_size=4),
              "transformer": dict(num_layers=1, num_heads=2, width=8)}
TEXT_COLUMNS = ("model", "measure", "T", "batch", "tokens_per_s", "cached_speedup")
WAVENET = {
    "cpu (2x1..64)": dict(num_stacks=2, layers_per_stack=7, residual_channels=32,
                          gate_channels=32, skip_channels=64),
    "default (3x1..512)": dict(num_stacks=3, layers_per_stack=10, residual_channels=64,
                               gate_channels=64, skip_channels=256),
}
WAVENET_QUICK = dict(num_stacks=2, layers_per_stack=3, residual_channels=8, gate_channels=8,
                     skip_channels=16)
AUDIO_COLUMNS = ("model", "layers", "length", "batch", "cached_samples_per_s",
                 "naive_samples_per_s", "naive_extrapolated", "speedup", "cached_seconds",
                 "train_samples_per_s")


def text_sampling_rows(label, model, variables, batch, min_time):
  """Naive and cached sampling tokens/s of `model` for `batch` samples."""
  t = model.input_shape[0]
  sec = {False: None}
  for cached in (False, True) if t <= NAIVE_MAX_T else (True,):
    sec[cached] = timing.median_seconds(
        lambda key, c=cached: ar_jax.sample(model, variables, key, batch, use_cache=c),
        jax.random.key(1), repeats=3, min_time=min_time)
  return [dict(model=label, measure="sample " + ("cached" if c else "naive"), T=t,
               batch=batch, tokens_per_s=None if sec[c] is None else batch * t / sec[c],
               cached_speedup=sec[False] / sec[True] if c and sec[False] else None)
          for c in (False, True)]


def text_rows(quick):
  """Every text row; `quick`: tiny models at T = 16, batch 1 and 2 (a smoke run)."""
  lengths, batches, train_batch, min_time = (
      ((16,), (1,), 2, 0.0) if quick else ((64, 256, 1024), (1, 8), 8, 1.0))
  out = []
  for label, (name, hparams) in TEXT_MODELS.items():
    for t in lengths:
      model = models.get(name, input_shape=(t,), num_classes=NUM_CLASSES,
                         **(TEXT_QUICK[name] if quick else hparams))
      x = jax.random.randint(jax.random.key(0), (train_batch, t), 0, NUM_CLASSES)
      sec = timing.train_step_seconds(model, x)
      out.append(dict(model=label, measure="train", T=t, batch=train_batch,
                      tokens_per_s=train_batch * t / sec, cached_speedup=None))
      variables = model.init(jax.random.key(0), x[:1])
      for b in batches:
        out += text_sampling_rows(label, model, variables, b, min_time)
      print(timing.markdown(TEXT_COLUMNS, out[-1 - 2 * len(batches):]), flush=True)
  return out


def audio_sampling_row(label, hparams, length, batch):
  """Cached seconds for `batch` x `length` samples; naive extrapolated from one step."""
  model = models.get("wavenet", input_shape=(length,), **hparams)
  x = jnp.zeros((batch, length), jnp.int32)
  variables = model.init(jax.random.key(0), x)
  key = jax.random.key(1)
  cached_s = timing.median_seconds(lambda: ar_jax.sample(model, variables, key, batch),
                                   repeats=1, min_time=0.0)

  @jax.jit
  def naive_step(variables, x, key):  # the naive scan's body: full forward + draw
    params = model.apply(variables, x)[:, length // 2]
    return x.at[:, length // 2].set(model.distribution.sample(key, params))

  naive_s = length * timing.median_seconds(naive_step, variables, x, key, repeats=3,
                                            min_time=0.0)
  return {"model": label, "layers": len(model.dilations), "length": length, "batch": batch,
          "cached_samples_per_s": batch * length / cached_s,
          "naive_samples_per_s": batch * length / naive_s,
          "naive_extrapolated": f"1 step timed x {length}",
          "speedup": naive_s / cached_s, "cached_seconds": cached_s,
          "train_samples_per_s": None}


def audio_training_row(label, hparams, length, batch):
  model = models.get("wavenet", input_shape=(length,), **hparams)
  x = jax.random.randint(jax.random.key(2), (batch, length), 0, model.num_classes)
  sec = timing.train_step_seconds(model, x)
  return {**dict.fromkeys(AUDIO_COLUMNS), "model": label, "layers": len(model.dilations),
          "length": length, "batch": batch, "train_samples_per_s": batch * length / sec}


def audio_rows(quick):
  """The WaveNet rows, cheapest first; `quick`: one tiny model at T = 64, batch 2."""
  if quick:
    return [audio_sampling_row("tiny (2x1..4)", WAVENET_QUICK, 64, 2),
            audio_training_row("tiny (2x1..4)", WAVENET_QUICK, 64, 2)]
  (cpu, cpu_hp), (default, default_hp) = WAVENET.items()
  one_stack, one_stack_hp = "cpu, 1 stack (1x1..64)", dict(cpu_hp, num_stacks=1)
  plan = [(audio_sampling_row, cpu, cpu_hp, 8000, 1),  # 1 s of audio, batch 1 and 8
          (audio_sampling_row, cpu, cpu_hp, 8000, 8),
          (audio_sampling_row, cpu, cpu_hp, 2000, 1),  # growth with the length
          (audio_sampling_row, one_stack, one_stack_hp, 8000, 1),  # ... with the layers
          (audio_training_row, cpu, cpu_hp, 960, 4),
          (audio_training_row, one_stack, one_stack_hp, 960, 4),
          (audio_sampling_row, default, default_hp, 8000, 1),
          (audio_training_row, default, default_hp, 8000, 1),
          (audio_sampling_row, default, default_hp, 8000, 8)]
  out = []
  for fn, *args in plan:
    out.append(fn(*args))
    print(timing.markdown(AUDIO_COLUMNS, out[-1:]), flush=True)
  return out


FAMILIES = {"text": (TEXT_COLUMNS, text_rows), "audio": (AUDIO_COLUMNS, audio_rows)}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--family", choices=(*FAMILIES, "all"), default="all")
  parser.add_argument("--quick", action="store_true", help="tiny models: a smoke run")
  parser.add_argument("--out", default=None)
  args = parser.parse_args(argv)
  peak = timing.matmul_peak(((64, 64, 64),)) if args.quick else timing.matmul_peak()
  results = {}
  for family in FAMILIES if args.family == "all" else (args.family,):
    columns, rows = FAMILIES[family]
    results[family] = {"columns": list(columns), "rows": rows(args.quick)}
  for family, res in results.items():
    print(f"\n{family}\n\n{timing.markdown(res['columns'], res['rows'])}")
  timing.write_record(args.out or timing.default_out("sequence", args.quick),
                      {"families": results}, matmul_peak_gflops=peak,
                      quick=args.quick)
  return results


if __name__ == "__main__":
  main()

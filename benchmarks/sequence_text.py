"""Text-model speed rows for `benchmarks/sequence_models.py --family text`.

Training tokens/s (a jitted Adam step on `train_log_prob`, donated state,
`model_speed.train_step_speed`) at batch 8, and sampling tokens/s, naive
(one full forward pass per token: O(T) per token) against cached (the
model's `cached_step`: O(1) per token for char_rnn, O(T) attention for a
KV cache), at T = 64, 256, 1024 and batch 1 and 8. Sampling tokens/s =
batch * T / seconds of one `ar_jax.sample` call (compile excluded). The
naive sampler is timed up to T = `NAIVE_MAX_T` only: its cost grows as T^2
(one T-long forward pass per token), and at T = 1024 one call of the
2 x 256 LSTM takes several minutes on 2 CPU cores; its row there says
"not run" (`tokens_per_s` None) instead of a number.

Models: char_rnn (2 x 256 LSTM, 64-wide embedding, 76 classes as in
shakespeare_char) and the transformer (4 layers, 4 heads, width 128: the
`:cpu` size of experiments/configs/transformer_shakespeare.py).
"""

import time

import jax
import jax.numpy as jnp

import ar_jax
from ar_jax import models

import model_speed

NUM_CLASSES = 76  # shakespeare_char's vocabulary
COLUMNS = ("model", "measure", "T", "batch", "tokens_per_s", "cached_speedup")
NAIVE_MAX_T = 256
# label -> (registry name, hparams); a model not registered is skipped.
MODELS = {
    "char_rnn lstm 2x256": ("char_rnn", dict(cell="lstm", num_layers=2, hidden_size=256,
                                            embed_size=64)),
    # nanoGPT README's CPU size (the :cpu Shakespeare config).
    "transformer 4x128": ("transformer", dict(num_layers=4, num_heads=4, width=128)),
}
_QUICK_HPARAMS = {"char_rnn": dict(cell="lstm", num_layers=1, hidden_size=8, embed_size=4),
                  "transformer": dict(num_layers=1, num_heads=2, width=8)}


def _seconds(fn, *args, min_time=1.0, max_calls=5):
  """Mean seconds of fn(*args) (blocked) after a warm-up call (the compile).

  Calls are repeated until `min_time` has passed or `max_calls` were made:
  a naive sample at T = 1024 takes many seconds, so it is timed once or twice.
  """
  jax.block_until_ready(fn(*args))
  calls, start = 0, time.perf_counter()
  while calls < max_calls and (calls == 0 or time.perf_counter() - start < min_time):
    jax.block_until_ready(fn(*args))
    calls += 1
  return (time.perf_counter() - start) / calls


def sampling_rows(label, model, variables, batch, min_time=1.0):
  """Naive and cached sampling tokens/s of `model` for `batch` samples."""
  t = model.input_shape[0]
  sec = {False: None}
  for cached in (False, True) if t <= NAIVE_MAX_T else (True,):
    fn = lambda key, c=cached: ar_jax.sample(model, variables, key, batch, use_cache=c)
    sec[cached] = _seconds(fn, jax.random.key(1), min_time=min_time)
  speed = lambda c: None if sec[c] is None else batch * t / sec[c]
  return [dict(model=label, measure="sample " + ("cached" if c else "naive"), T=t,
               batch=batch, tokens_per_s=speed(c),
               cached_speedup=sec[False] / sec[True] if c and sec[False] else None)
          for c in (False, True)]


def model_rows(label, name, hparams, lengths, batches, train_batch=8, min_time=1.0):
  """Training and sampling rows of one model at each T in `lengths`."""
  out = []
  for t in lengths:
    model = models.get(name, input_shape=(t,), num_classes=NUM_CLASSES, **hparams)
    x = jax.random.randint(jax.random.key(0), (train_batch, t), 0, NUM_CLASSES)
    speed = model_speed.train_step_speed(model, x, flops_fwd=0)
    out.append(dict(model=label, measure="train", T=t, batch=train_batch,
                    tokens_per_s=speed["examples_per_s"] * t, cached_speedup=None))
    variables = model.init(jax.random.key(0), x[:1])
    for b in batches:
      out.extend(sampling_rows(label, model, variables, b, min_time=min_time))
    print(*(f"{r['model']:22s} {r['measure']:14s} T={r['T']:5d} B={r['batch']:2d} "
            f"{r['tokens_per_s'] or float('nan'):10.0f} tokens/s"
            for r in out[-1 - 2 * len(batches):]), sep="\n", flush=True)
  return out


def rows(quick):
  """Every text row; `quick`: tiny models at T = 16, batch 1 (a smoke test)."""
  registered = set(models.names())
  out = []
  for label, (name, hparams) in MODELS.items():
    if name not in registered:
      continue
    if quick:
      out += model_rows(label, name, _QUICK_HPARAMS.get(name, hparams), (16,), (1,),
                        train_batch=2, min_time=0.0)
    else:
      out += model_rows(label, name, hparams, (64, 256, 1024), (1, 8))
  return out

r"""Sample a trained WaveNet run to 16-bit WAV files, with spectrogram PNGs.

  python experiments/wavenet_sample.py --workdir=runs/wavenet_speech_cpu \
      --seconds=3 --out_dir=experiments/results/wavenet

Unconditional run: writes `<prefix>generated.wav` (+ `.png`). Locally
conditioned run (data.cond_feature="mel"): picks the held-out test clip whose
length is closest to --seconds (or --file_id), generates audio from its stored
log-mel frames, and writes `<prefix>generated.wav`, `<prefix>original.wav` (the
clip's stored mu-law audio, decoded) and a spectrogram PNG of each. Sampling
uses the Fast WaveNet cache (`ar_jax.sample`). Spectrograms
(`ar_jax.plots.plot_spectrogram`, needs matplotlib): time in s, frequency in
Hz, power in dB re full scale (25 ms Hann window every 10 ms), on the
original's dB range so the two images are comparable.

  python experiments/wavenet_sample.py --spectrograms_only --prefix=mel_ \
      --out_dir=experiments/results/wavenet

redraws the PNGs from the WAV files and `<prefix>sample.json` already there.
"""

import argparse
import json
import os
import time

import jax
import numpy as np

import ar_jax
from ar_jax import audio
from ar_jax import cli
from ar_jax import experiment
from ar_jax import plots
from ar_jax.data import reading
from ar_jax.data import speech


def restore_params(exp, workdir):
  """Best-by-validation variables {"params": ...} of the run (else the latest)."""
  state, step, _ = cli.restore_state(exp, workdir, "best")
  return {"params": state.eval_params()}, step


def write_spectrograms(out, info):
  """Draws `out("original.png")` (if there is an original) and `out("generated.png")`.

  Reads the WAV files; the generated clip uses the original's dB range.
  `info` is the sample.json dict: a "file_id" (the test clip a conditioned
  run used) means there is an original.
  """
  db_range = None
  if "file_id" in info:
    pcm, rate = audio.read_wav(out("original.wav"))
    db_range = plots.plot_spectrogram(
        audio.pcm_to_float(pcm), rate, out("original.png"),
        title=f"original: held-out test clip {info['file_id']}")
    title = "WaveNet sample, conditioned on the original's log-mel frames"
  else:
    title = "WaveNet sample, unconditional"
  pcm, rate = audio.read_wav(out("generated.wav"))
  plots.plot_spectrogram(audio.pcm_to_float(pcm), rate, out("generated.png"),
                         title=title, db_range=db_range)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", help="the WaveNet run (not needed with --spectrograms_only)")
  p.add_argument("--out_dir", required=True)
  p.add_argument("--prefix", default="")
  p.add_argument("--seconds", type=float, default=3.0)
  p.add_argument("--file_id", type=int, default=None, help="test clip to condition on")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--temperature", type=float, default=1.0)
  p.add_argument("--spectrograms_only", action="store_true",
                 help="redraw the PNGs from the WAV files in --out_dir; no sampling")
  args = p.parse_args(argv)
  out = lambda name: os.path.join(args.out_dir, args.prefix + name)
  if args.spectrograms_only:
    with open(out("sample.json")) as f:
      write_spectrograms(out, json.load(f))
    return
  if args.workdir is None:
    p.error("--workdir is required (unless --spectrograms_only)")
  config = cli.load_run_config(args.workdir)
  exp = experiment.build(config)
  params, step = restore_params(exp, args.workdir)
  os.makedirs(args.out_dir, exist_ok=True)
  info = {"workdir": args.workdir, "step": step, "seed": args.seed,
          "temperature": args.temperature}
  cond = None
  if config.data.cond_feature:
    test = reading.load_split(config.data.name, config.data.test_split,
                              data_dir=config.data.data_dir)
    ids, starts, counts = np.unique(test["file_id"], return_index=True, return_counts=True)
    pick = (int(np.argmin(np.abs(counts - args.seconds * speech.RATE)))
            if args.file_id is None else int(np.flatnonzero(ids == args.file_id)[0]))
    lo, n = int(starts[pick]), int(counts[pick])
    cond = test[config.data.cond_feature][lo // speech.HOP:(lo + n) // speech.HOP][None]
    original = audio.mu_law_decode(test["audio"][lo:lo + n])
    audio.write_wav(out("original.wav"), original, speech.RATE)
    info.update(file_id=int(ids[pick]), original_seconds=n / speech.RATE)
    length = n
  else:
    length = int(args.seconds * speech.RATE)
  model = exp.model.clone(input_shape=(length,))
  kw = {} if cond is None else {"cond": jax.numpy.asarray(cond)}
  t0 = time.perf_counter()
  x = ar_jax.sample(model, params, jax.random.key(args.seed), 1,
                    temperature=args.temperature, **kw)
  x = np.asarray(jax.block_until_ready(x))[0]
  info["sampling_seconds_incl_compile"] = round(time.perf_counter() - t0, 1)
  generated = audio.mu_law_decode(x)
  audio.write_wav(out("generated.wav"), generated, speech.RATE)
  write_spectrograms(out, info)
  info["generated_seconds"] = length / speech.RATE
  with open(out("sample.json"), "w") as f:
    json.dump(info, f, indent=1)
  print(json.dumps(info))


if __name__ == "__main__":
  main()

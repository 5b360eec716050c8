r"""Sample a trained WaveNet run to 16-bit WAV files, with spectrogram PNGs.

  python experiments/wavenet_sample.py --workdir=runs/wavenet_speech_cpu \
      --seconds=3 --out_dir=experiments/results/wavenet

Unconditional run: writes `<prefix>generated.wav` (+ `.png`). Locally
conditioned run (data.cond_feature="mel"): picks the held-out test clip whose
length is closest to --seconds (or --file_id), generates audio from its stored
log-mel frames, and writes `<prefix>generated.wav`, `<prefix>original.wav` (the
clip's stored mu-law audio, decoded) and a spectrogram PNG of each. Sampling
uses the Fast WaveNet cache (`ar_jax.sample`). Spectrograms: log power,
25 ms Hann window every 10 ms, 0-4 kHz bottom to top, time left to right,
on a shared dB scale (the original's range) so the two images are comparable.
"""

import argparse
import json
import os
import time

import jax
import numpy as np
from PIL import Image

import ar_jax
from ar_jax import audio
from ar_jax import cli
from ar_jax import experiment
from ar_jax.data import reading
from ar_jax.data import speech


def restore_params(exp, workdir):
  """Best-by-validation variables {"params": ...} of the run (else the latest)."""
  state, step, _ = cli._restore(exp, workdir, "best")  # pylint: disable=protected-access
  return {"params": state.eval_params()}, step


def spectrogram_png(path, x, rate=speech.RATE, db_range=None):
  """Writes a log-power spectrogram image of float samples x; returns its dB range."""
  power = audio.power_frames(x, speech.HOP, 200, 256)  # [frames, 129]
  db = 10 * np.log10(power + 1e-10)
  lo, hi = db_range or (float(np.percentile(db, 5)), float(db.max()))
  img = np.clip((db - lo) / (hi - lo), 0, 1)
  img = (255 * img.T[::-1]).astype(np.uint8)  # frequency up, time right
  img = np.repeat(np.repeat(img, 2, axis=0), 2, axis=1)
  Image.fromarray(img).save(path)
  return lo, hi


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True)
  p.add_argument("--out_dir", required=True)
  p.add_argument("--prefix", default="")
  p.add_argument("--seconds", type=float, default=3.0)
  p.add_argument("--file_id", type=int, default=None, help="test clip to condition on")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--temperature", type=float, default=1.0)
  args = p.parse_args(argv)
  config = cli.load_run_config(args.workdir)
  exp = experiment.build(config)
  params, step = restore_params(exp, args.workdir)
  os.makedirs(args.out_dir, exist_ok=True)
  out = lambda name: os.path.join(args.out_dir, args.prefix + name)
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
    db_range = spectrogram_png(out("original.png"), original)
    info.update(file_id=int(ids[pick]), original_seconds=n / speech.RATE)
    length = n
  else:
    length, db_range = int(args.seconds * speech.RATE), None
  model = exp.model.clone(input_shape=(length,))
  kw = {} if cond is None else {"cond": jax.numpy.asarray(cond)}
  t0 = time.perf_counter()
  x = ar_jax.sample(model, params, jax.random.key(args.seed), 1,
                    temperature=args.temperature, **kw)
  x = np.asarray(jax.block_until_ready(x))[0]
  info["sampling_seconds_incl_compile"] = round(time.perf_counter() - t0, 1)
  generated = audio.mu_law_decode(x)
  audio.write_wav(out("generated.wav"), generated, speech.RATE)
  spectrogram_png(out("generated.png"), generated, db_range=db_range)
  info["generated_seconds"] = length / speech.RATE
  with open(out("sample.json"), "w") as f:
    json.dump(info, f, indent=1)
  print(json.dumps(info))


if __name__ == "__main__":
  main()

r"""Image completion with LMConv: the order chosen for the mask against fixed orders.

  python experiments/completion.py --workdir=runs/lmconv_mnist_cpu \
      --num_digits=500 --num_samples=3 [--out=experiments/results/binarized_mnist/completion]

Takes a trained `lmconv` run (its config.json and best-by-validation
checkpoint, else the latest) and removes the TOP HALF of held-out test digits
(the first `--num_digits` of the run's `data.test_split`). LMConv's weights
do not depend on the pixel order, so the same variables give a model under
any order (`model.clone(ordering=...)`). For each order it reports the exact
negative log-likelihood, in nats, of the missing half given the observed
half under that order: minus the sum of the per-pixel terms
(`dim_log_probs`) of the missing pixels. The orders:

- "observed_first": `masks.observed_first(known, base)`, the observed bottom
  half first, so every missing pixel is conditioned on all observed ones and
  the sum is -log p(x_missing | x_observed);
- every training order of the run, one at a time (not the ensemble's
  mixture): "s_curve" and, with `order_symmetries` = n, its flips and
  transposes ("s_curve+flip_ud" generates the rows bottom to top, so the
  observed half comes first there too);
- "raster" (unless it is a training order).

Under a top-to-bottom order the missing top half comes first, its
conditionals cannot see the bottom half, and the sum is -log p(x_missing):
the marginal, the completion ignoring what is observed.

Writes, in --out (default experiments/results/<data.name>/completion):
- `<name>.json`: per order the mean and standard error over the digits of
  the missing-half NLL (nats), each order's description, the number of
  digits, the run (workdir, model, data, checkpoint step) and the picture;
- `<name>.png`: for the first `--num_pictured` digits, rows: the original,
  the masked input (missing pixels dark grey), `--num_samples` completions
  sampled under observed_first (`ar_jax.sample(..., x_init=, known=)`), and
  as many under the run's first training order.

The JSON lands where `experiments/make_results.py` reads run records, which
refuses a JSON that is neither a record nor `attachment_of` one: pass
`--attachment_of=<the run's record, relative to --out>`.
"""

import argparse
import functools
import json
import math
import os

from absl import logging
import jax
import jax.numpy as jnp
import numpy as np

import ar_jax
from ar_jax import cli
from ar_jax import experiment
from ar_jax import masks
from ar_jax import plots
from ar_jax import reporting
from ar_jax.data import pipeline
from ar_jax.models import lmconv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Row k of `masks.symmetries`: where it moves pixel (r, c).
SYMMETRIES = ("", "flip_ud", "flip_lr", "rot180", "transpose", "transpose+flip_ud",
              "transpose+flip_lr", "transpose+rot180")


def top_half_known(shape_HxW):
  """bool [H, W]: True (observed) for the bottom floor(H / 2) + H % 2 rows."""
  h, w = shape_HxW
  known = np.zeros((h, w), bool)
  known[h // 2:] = True
  return known


def order_specs(model, known, base="s_curve"):
  """{name: pixel order int [H * W]}: observed_first, each training order, raster.

  Names of training orders: the spec (a registered name, else "order<i>"),
  with "+<symmetry>" for the flips and transposes of `order_symmetries`.
  """
  specs = model.order_ensemble or (model.ordering,)
  names = [s if isinstance(s, str) else f"order{i}" for i, s in enumerate(specs)]
  out = {"observed_first": masks.observed_first(known, base)}
  training = model.pixel_orderings()
  for i, order in enumerate(training):
    spec, sym = divmod(i, model.order_symmetries)
    out[names[spec] + (f"+{SYMMETRIES[sym]}" if sym else "")] = order
  if "raster" not in out:
    out["raster"] = masks.get_ordering("raster", known.shape)
  return out


def describe(name, base):
  if name == "observed_first":
    return (f"observed pixels first, then the missing ones, each part in {base} order: "
            "every missing pixel sees every observed one")
  if name == "raster":
    return "rows top to bottom, each left to right"
  return "a training order of the run" + (" (a flip or transpose of the spec)"
                                          if "+" in name else "")


def single_order(model, order):
  """`model` with one pixel order: the same variables apply to it."""
  return model.clone(ordering=tuple(int(i) for i in order), order_ensemble=(),
                     order_symmetries=1)


@functools.partial(jax.jit, static_argnums=0)
def _dim_log_probs(model, variables, x):
  return model.apply(variables, x, method=model.dim_log_probs)


def missing_nll(model, variables, x, known, order, batch_size=100):
  """nats [N]: -sum of log p(x_d | x_<d) over the missing pixels d, under `order`.

  `x` int [N, H, W, C]; `known` bool [H, W] (True: observed). Batches of
  `batch_size` (the last one padded, so one program is compiled).
  """
  m = single_order(model, order)
  x = np.asarray(x)
  n = x.shape[0]
  pad = -n % batch_size
  xp = np.concatenate([x, np.repeat(x[:1], pad, axis=0)]) if pad else x
  missing = (~np.asarray(known))[None, :, :, None]
  out = []
  for lo in range(0, xp.shape[0], batch_size):
    terms = np.asarray(_dim_log_probs(m, variables, jnp.asarray(xp[lo:lo + batch_size])))
    out.append(-(terms * missing).reshape(terms.shape[0], -1).sum(-1))
  return np.concatenate(out)[:n]


def complete(model, variables, x, known, order, num_samples, key):
  """int [S, N, H, W, C]: S completions of each digit sampled under `order`."""
  m = single_order(model, order)
  x_init = jnp.asarray(np.concatenate([np.asarray(x)] * num_samples))
  out = ar_jax.sample(m, variables, key, x_init.shape[0], x_init=x_init,
                      known=np.asarray(known)[..., None])
  return np.asarray(out).reshape((num_samples,) + tuple(np.shape(x)))


def draw(rows, labels, num_classes, out, title=None):
  """A PNG of image rows ([N, H, W, C] each, values in 0..K-1) with a label per row."""
  figure = plots.figure_class("completion figure")
  if figure is None:
    return None
  n, h, w, c = rows[0].shape
  grid = reporting.image_grid(np.concatenate(rows), (h, w, c), num_classes, cols=n)
  cell, left, top = 0.75, 2.0, 0.45 if title else 0.1  # inches
  width, height = left + cell * n + 0.1, top + cell * len(rows) + 0.1
  fig = figure(figsize=(width, height), dpi=110)
  ax = fig.add_axes((left / width, 0.1 / height, cell * n / width, cell * len(rows) / height))
  ax.imshow(grid[..., 0] if c == 1 else grid, cmap="gray", vmin=0, vmax=255,
            interpolation="nearest")
  ax.set_yticks([1 + (h + 1) * i + h / 2 for i in range(len(rows))])
  ax.set_yticklabels(labels, fontsize=8)
  ax.set_xticks([])
  ax.tick_params(length=0)
  if title:
    ax.set_title(title, fontsize=8)
  return plots.save_figure(fig, out)


def test_images(exp, num_digits):
  """int [N, H, W, C]: the first `num_digits` images of the run's test split."""
  cfg = exp.config.data
  arrays = pipeline.load_split(cfg, cfg.test_split)
  if num_digits > len(arrays["x"]):
    raise ValueError(f"--num_digits={num_digits}: the test split {cfg.test_split!r} of "
                     f"{cfg.name!r} has {len(arrays['x'])} images; ask for at most that")
  batch = {"x": arrays["x"][:num_digits]}
  x, _ = pipeline.model_inputs(batch, exp.key("eval"), cfg.binarization,
                               exp.model.input_shape)
  return np.asarray(x)


def run(args):
  config = cli.load_run_config(args.workdir)
  exp = experiment.build(config)
  model = exp.model
  if not isinstance(model, lmconv.LMConv) or model.output != "categorical":
    raise ValueError(f"{args.workdir}: model.name={config.model.name!r} "
                     f"(output={getattr(model, 'output', None)!r}); completion under any "
                     "order needs an 'lmconv' run with output='categorical'")
  if config.data.cond_feature:
    raise ValueError(f"{args.workdir}: a conditional run (data.cond_feature="
                     f"{config.data.cond_feature!r}); completion takes an unconditional one")
  out_dir = args.out or os.path.join(ROOT, "experiments", "results", config.data.name,
                                     "completion")
  os.makedirs(out_dir, exist_ok=True)
  if args.attachment_of and not os.path.exists(os.path.join(out_dir, args.attachment_of)):
    raise ValueError(f"--attachment_of={args.attachment_of!r}: no such file in {out_dir}; "
                     "name the run's record relative to --out")
  with jax.set_mesh(exp.mesh):
    state, step, kind = cli.restore_state(exp, args.workdir, "best")
    variables = {"params": state.eval_params()}
    h, w, _ = model.input_shape
    known = top_half_known((h, w))
    x = test_images(exp, args.num_digits)
    orders = order_specs(model, known, args.base)
    nll = {}
    for name, order in orders.items():
      nll[name] = missing_nll(model, variables, x, known, order, args.batch_size)
      logging.info("%s: missing-half NLL %.3f nats", name, nll[name].mean())
    first_training = next(k for k in orders if k != "observed_first")
    pictured = x[:args.num_pictured]
    key = jax.random.key(args.seed)
    samples = {k: complete(model, variables, pictured, known, orders[k], args.num_samples, key)
               for k in ("observed_first", first_training)}
  k = model.num_classes
  masked = np.where(known[None, :, :, None], pictured, 0.3 * (k - 1))  # dark grey
  rows = [pictured, masked]
  labels = ["original", "observed (top half missing)"]
  for name, s in samples.items():
    rows += list(s)
    labels += [f"{name} #{i + 1}" for i in range(len(s))]
  png = os.path.join(out_dir, args.name + ".png")
  mean = {name: float(v.mean()) for name, v in nll.items()}
  title = "missing-half NLL, nats: " + ", ".join(
      f"{n} {mean[n]:.1f}" for n in ("observed_first", first_training, "raster"))
  drawn = draw(rows, labels, k, png, title)
  se = lambda v: float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else None
  info = {
      "workdir": args.workdir, "model": config.model.name,
      "model_hparams": config.model.hparams.to_dict(), "data": config.data.name,
      "test_split": config.data.test_split, "checkpoint": kind, "step": int(step),
      "num_digits": int(len(x)),
      "missing": f"top half: rows 0..{h // 2 - 1} of {h} ({int((~known).sum())} pixels)",
      "orders": {name: describe(name, args.base) for name in orders},
      "nll_missing_nats": mean, "nll_missing_se": {n: se(v) for n, v in nll.items()},
      "picture": os.path.basename(drawn) if drawn else None,
      "num_pictured": int(len(pictured)), "num_samples": args.num_samples,
      "sampled_orders": list(samples), "seed": args.seed,
  }
  if args.attachment_of:
    info = {"attachment_of": args.attachment_of, **info}
  path = os.path.join(out_dir, args.name + ".json")
  with open(path, "w") as f:
    json.dump(info, f, indent=1)
  print(json.dumps({"json": path, "nll_missing_nats": mean}))
  return info


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  p.add_argument("--workdir", required=True, help="a trained lmconv run")
  p.add_argument("--out", default=None,
                 help="output folder (default: experiments/results/<data.name>/completion)")
  p.add_argument("--name", default="completion", help="file names: <name>.json, <name>.png")
  p.add_argument("--num_digits", type=int, default=500, help="test digits evaluated")
  p.add_argument("--num_samples", type=int, default=3, help="completions per order pictured")
  p.add_argument("--num_pictured", type=int, default=8, help="digits in the picture")
  p.add_argument("--batch_size", type=int, default=100)
  p.add_argument("--base", default="s_curve", help="order within each part of observed_first")
  p.add_argument("--seed", type=int, default=0, help="seed of the sampling key")
  p.add_argument("--attachment_of", default=None,
                 help="the run's record this JSON belongs to, relative to --out")
  args = p.parse_args(argv)
  for key in ("num_digits", "num_samples", "num_pictured", "batch_size"):
    if getattr(args, key) < 1:
      p.error(f"--{key}={getattr(args, key)}: must be >= 1")
  args.num_pictured = min(args.num_pictured, args.num_digits)
  return run(args)


if __name__ == "__main__":
  main()

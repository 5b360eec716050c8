"""ar_jax's cases for the peer harness, and the table of one harness run.

The peer harness (`bench_peers.py`, kept outside this repository; see
benchmarks/README.md) times the same configuration in several libraries, each
case in its own process. It loads this file by path when `PEERS_EXTRA_CASES`
names it, injecting itself as the module global `bench` before running it;
the file then defines `CASES = {"<harness prefix>/ar_jax...": fn(args)}`, each
case in the configuration of the peer rows of that prefix (`bench.CFG`) and
timed by the harness's own `bench.time_train` / `bench.time_sample` (warm-up
and compilation excluded). Heavy imports happen inside the cases: the harness
imports this file in its runner and in every worker process. The cases import
`ar_jax` and `benchmarks.timing`, so the harness runs with the repository root
on PYTHONPATH (see benchmarks/README.md).

- made/, made8000/, nade/: float32, batch 100 of `bench.rand_binary`, Adam,
  trained by the trainer's own step (`steps.jit_train_steps`, as `python -m
  ar_jax.main` runs it, so the per-step RNG, the global gradient norm and the
  non-finite guard are timed too); sampling is `ar_jax.sample` (the cached
  samplers; the MADE peers re-run their network once per dimension).
- pixelcnn/, gatedpixelcnn/: pytorch-generative's PixelCNN (4 residual blocks
  of 32) and Gated PixelCNN (4 layers of 32) sizes on 28x28x1 binary images,
  batch 32, a donated optax Adam step; sampling 16 images on the cached path.
- pixelcnn/ar_jax-pp: `pixelcnn_pp` in TFP `tfd.PixelCNN`'s configuration
  (num_resnet=1, 2 levels, 32 filters, 5 mixtures, weight norm, binary);
  compared with "pixelcnn/tfp" only (`compare_to`).
- pixelsnail/ar_jax: `pixelsnail` in pytorch-generative's PixelSNAIL size of
  the harness (32 filters, 2 blocks of 2 gated ResNet layers, key 4, value
  16, one head), Bernoulli outputs, no weight norm or dropout, batch 16 of
  28x28x1 binary images; sampling 4 images on the cached path.
- gpt_baby/, gpt_small/: the `transformer` in nanoGPT's configurations (no
  dropout, no bias, tied weights, learned positions, vocabulary 65) with
  nanoGPT's AdamW (betas 0.9/0.99, weight decay 0.1 on >= 2-axis params);
  tokens/s = batch x block / step time.

Run as a module it prints the markdown table of one harness JSON: per case
prefix with an ar_jax row, the fastest peer of the same run and the ratio
ar_jax / peer (> 1: ar_jax faster); rows timed while other processes used
more than 0.2 cores (the harness's `foreign_cpus_*`) are starred.

  python -m benchmarks.peers RESULTS.json [--command "..."] [--date YYYY-MM-DD]
"""

import argparse
import functools
import json

IMAGE = (28, 28, 1)


def _dense(bench, args, prefix, model_name, hparams, sample):
  """A dense case trained by the trainer's step (`steps.jit_train_steps`)."""
  jax = bench.setup_jax()
  import numpy as np  # pylint: disable=import-outside-toplevel
  from ar_jax import configs, models, sharding  # pylint: disable=import-outside-toplevel
  from benchmarks import timing  # pylint: disable=import-outside-toplevel

  cfg = bench.CFG[prefix]
  d, b = cfg["D"], cfg["batch"]
  c = configs.default_config()
  c.data.binarization = "fixed"  # The harness's data is binary already.
  c.optim.name, c.optim.lr, c.optim.schedule = "adam", cfg["lr"], "constant"
  c.train.batch_size = b
  model = models.get(model_name, input_shape=(d,), **hparams)
  train_fn, new_state, _, mesh = timing.trainer_step(c, model)
  box = {"state": new_state(), "i": 0}
  # 8 batches of [K=1, B, D] (one step per dispatch), uint8 like stored data.
  data = bench.rand_binary((8, 1, b, d)).astype(np.uint8)
  batches = [jax.device_put({"x": x}, sharding.batch_sharding(mesh, 1)) for x in data]

  def step():
    box["state"], metrics = train_fn(box["state"], batches[box["i"] % 8])
    box["i"] += 1
    return metrics["loss"]

  with jax.set_mesh(mesh):
    res = bench.time_train(step, jax.block_until_ready, args)
  params = box["state"].params
  res.update(batch=b, params=int(sum(p.size for p in jax.tree.leaves(params))),
             train_path="ar_jax.steps.jit_train_steps")
  if model_name == "made":
    res.update(model="MADE", config=f"{d}-{'-'.join(map(str, cfg['hidden']))}-{d}",
               flops_per_step=bench.made_flops_per_step(d, cfg["hidden"], b))
  else:
    res.update(model="NADE", config=f"{d}-{cfg['hidden']}")
  if sample:
    res.update(_sample(bench, args, model, {"params": params}, cfg["sample_n"]))
    import ar_jax  # pylint: disable=import-outside-toplevel
    res.update(sample_cached=bool(ar_jax.sampling.has_cache(model)))
  return res


def _optax(bench, args, model, batches, opt, loss):
  """Times a jitted, donated optax step of `loss(variables, x, key)` cycling `batches`."""
  jax = bench.setup_jax()
  import optax  # pylint: disable=import-outside-toplevel

  @functools.partial(jax.jit, donate_argnums=0)
  def train_step(state, x, key):
    v, s = state
    value, g = jax.value_and_grad(lambda v: loss(v, x, key))(v)
    u, s = opt.update(g, s, v)
    return (optax.apply_updates(v, u), s), value

  variables = model.init(jax.random.key(0), batches[0])
  box = {"state": (variables, opt.init(variables)), "i": 0}

  def step():
    box["state"], value = train_step(box["state"], batches[box["i"] % len(batches)],
                                     jax.random.key(box["i"]))
    box["i"] += 1
    return value

  res = bench.time_train(step, jax.block_until_ready, args)
  params = box["state"][0]
  res.update(params=int(sum(p.size for p in jax.tree.leaves(params))))
  return res, params


def _sample(bench, args, model, variables, n):
  """`bench.time_sample` of `ar_jax.sample(model, variables, key, n)`, fresh keys."""
  jax = bench.setup_jax()
  import ar_jax  # pylint: disable=import-outside-toplevel
  keys = iter(jax.random.split(jax.random.key(1), 64))
  res = bench.time_sample(lambda: ar_jax.sample(model, variables, next(keys), n),
                          jax.block_until_ready, args)
  return dict(res, sample_n=n)


def _image(bench, args, cfg_name, model_name, hparams, label, **extra):
  """An image case: Adam on random binary 28x28x1 images, then 16 cached samples."""
  jax = bench.setup_jax()
  import jax.numpy as jnp  # pylint: disable=import-outside-toplevel
  import optax  # pylint: disable=import-outside-toplevel
  import ar_jax  # pylint: disable=import-outside-toplevel

  c = bench.CFG[cfg_name]
  model = ar_jax.models.get(model_name, input_shape=IMAGE, **hparams)
  batches = list(jnp.asarray(bench.rand_binary((4, c["batch"]) + IMAGE), jnp.int32))
  loss = lambda v, x, key: -model.apply(v, x, key, method="train_log_prob").mean()  # noqa: E731
  res, params = _optax(bench, args, model, batches, optax.adam(c["lr"]), loss)
  res.update(model=label, config=" ".join(f"{k}={v}" for k, v in hparams.items()) + " 28x28x1",
             batch=c["batch"], train_images_per_s=c["batch"] / res["step_s"], **extra)
  res.update(_sample(bench, args, model, params, c["sample_n"]))
  res.update(sample_passes=IMAGE[0] * IMAGE[1], sample_path="cached")
  return res


def _gpt(bench, args, cfg_name):
  """The `transformer` in one of nanoGPT's configurations, nanoGPT's AdamW."""
  jax = bench.setup_jax()
  import numpy as np  # pylint: disable=import-outside-toplevel
  import optax  # pylint: disable=import-outside-toplevel
  import ar_jax  # pylint: disable=import-outside-toplevel

  c = bench.CFG[cfg_name]
  b, t = c["batch"], c["block"]
  model = ar_jax.models.get(
      "transformer", input_shape=(t,), num_classes=c["vocab"], num_layers=c["n_layer"],
      num_heads=c["n_head"], width=c["n_embd"], dropout=0.0, use_bias=False,
      tie_weights=True, positions="learned")
  x = np.random.default_rng(0).integers(0, c["vocab"], (b, t)).astype(np.int32)
  decay_mask = lambda params: jax.tree.map(lambda p: p.ndim >= 2, params)  # noqa: E731
  opt = optax.adamw(c["lr"], b1=0.9, b2=0.99, eps=1e-8, weight_decay=0.1, mask=decay_mask)
  loss = lambda v, x, key: -model.apply(v, x, method="log_prob").mean() / t  # noqa: E731
  res, _ = _optax(bench, args, model, [jax.numpy.asarray(x)], opt, loss)
  res.update(model="GPT", config=cfg_name, batch=b, tokens_per_s=b * t / res["step_s"])
  return res


def cases(bench):
  """{harness case name: fn(args) -> result dict} with `bench` the harness module."""
  cfg = bench.CFG  # Read when a case runs: a case's config need not exist until then.
  pg = lambda key: cfg["pixelcnn_pg"][key]  # noqa: E731
  gated = lambda key: cfg["gated_pg"][key]  # noqa: E731
  pp = lambda: cfg["pixelcnn_tfp"]  # noqa: E731
  snail = lambda key: cfg["pixelsnail_pg"][key]  # noqa: E731
  table = {
      "made/ar_jax": ("ar_jax MADE (trainer step)", lambda a: _dense(
          bench, a, "made", "made", {"hidden_sizes": tuple(cfg["made"]["hidden"])}, True)),
      "made8000/ar_jax": ("ar_jax MADE (trainer step)", lambda a: _dense(
          bench, a, "made8000", "made", {"hidden_sizes": tuple(cfg["made8000"]["hidden"])},
          False)),
      "nade/ar_jax": ("ar_jax NADE (sigmoid, trainer step)", lambda a: _dense(
          bench, a, "nade", "nade", {"hidden_size": cfg["nade"]["hidden"]}, True)),
      "pixelcnn/ar_jax": ("ar_jax pixelcnn (cached sampling)", lambda a: _image(
          bench, a, "pixelcnn_pg", "pixelcnn", {
              "num_blocks": pg("n_residual"), "residual_channels": pg("residual_channels"),
              "head_channels": pg("head_channels")}, "PixelCNN")),
      "gatedpixelcnn/ar_jax": ("ar_jax gated_pixelcnn (cached sampling)", lambda a: _image(
          bench, a, "gated_pg", "gated_pixelcnn", {
              "num_layers": gated("n_gated"), "channels": gated("gated_channels"),
              "head_channels": gated("head_channels")}, "GatedPixelCNN")),
      "pixelcnn/ar_jax-pp": ("ar_jax pixelcnn_pp (cached sampler)", lambda a: _image(
          bench, a, "pixelcnn_tfp", "pixelcnn_pp", dict(
              num_classes=pp()["high"] + 1, num_filters=pp()["num_filters"],
              num_resnet=pp()["num_resnet"], num_levels=pp()["num_hierarchies"],
              num_mixtures=pp()["num_logistic_mix"], dropout=pp()["dropout_p"],
              weight_norm=True), "PixelCNN++ (ar_jax pixelcnn_pp)",
          compare_to=["pixelcnn/tfp"])),
      "pixelsnail/ar_jax": ("ar_jax pixelsnail (cached sampling)", lambda a: _image(
          bench, a, "pixelsnail_pg", "pixelsnail", dict(
              num_filters=snail("n_channels"), num_blocks=snail("n_pixel_snail_blocks"),
              num_resnet=snail("n_residual_blocks"), num_heads=1,
              key_size=snail("attention_key_channels"),
              value_size=snail("attention_value_channels"), output="categorical",
              dropout=0.0, weight_norm=False), "PixelSNAIL")),
      "gpt_baby/ar_jax": ("ar_jax transformer", lambda a: _gpt(bench, a, "gpt_baby")),
      "gpt_small/ar_jax": ("ar_jax transformer", lambda a: _gpt(bench, a, "gpt_small")),
  }
  out = {}
  for name, (label, fn) in table.items():
    fn.label = label
    out[name] = fn
  return out


def _throughput(row, batches):
  """Training speed: tokens/s if reported; examples/s when the batches differ; else steps/s."""
  if "tokens_per_s" in row:
    return row["tokens_per_s"], "tokens/s"
  if len(batches) > 1 and "batch" in row:
    return row["steps_per_s"] * row["batch"], "examples/s"
  return row["steps_per_s"], "steps/s"


def _loaded(row, kind):
  return (row.get(f"foreign_cpus_{kind}") or 0.0) > 0.2


def _fmt(value, loaded):
  return f"{value:.3g}{'*' if loaded else ''}"


def rows(results):
  """Table rows (case, fastest peer, peer value, ar_jax value, ratio) of one harness run."""
  out = []
  for name, mine in results.items():
    prefix, who = name.split("/", 1)
    if not who.startswith("ar_jax") or "steps_per_s" not in mine:
      continue
    names = mine.get("compare_to") or [n for n in results if n.split("/")[0] == prefix
                                       and not n.split("/")[1].startswith("ar_jax")]
    peers = {n: results[n] for n in names if n in results and "error" not in results[n]}
    failed = "; ".join(f"{n}: {results[n]['error']}" for n in names
                       if n in results and "error" in results[n])
    none = f"none ({failed or 'no peer row'})"
    train = {n: r for n, r in peers.items() if "steps_per_s" in r}
    batches = {r.get("batch") for r in list(train.values()) + [mine]}
    speed = lambda r: _throughput(r, batches)[0]  # noqa: E731
    case = f"{name} train ({_throughput(mine, batches)[1]})"
    mine_v = _fmt(speed(mine), _loaded(mine, "train"))
    if train:
      best = max(train, key=lambda n: speed(train[n]))
      out.append((case, best, _fmt(speed(train[best]), _loaded(train[best], "train")), mine_v,
                  speed(mine) / speed(train[best])))
    else:
      out.append((case, none, "-", mine_v, None))
    if "sample_s" not in mine:
      continue
    n = mine.get("sample_n", 1)
    per_sample = lambda r: r["sample_s"] / r.get("sample_n", 1)  # noqa: E731
    sampled = {k: r for k, r in peers.items() if "sample_s" in r}
    mine_v = _fmt(mine["sample_s"], _loaded(mine, "sample"))
    if sampled:
      best = min(sampled, key=lambda k: per_sample(sampled[k]))
      out.append((f"{name} sample {n} (s)", best,
                  _fmt(per_sample(sampled[best]) * n, _loaded(sampled[best], "sample")),
                  mine_v, per_sample(sampled[best]) / per_sample(mine)))
    else:
      out.append((f"{name} sample {n} (s)", none, "-", mine_v, None))
  return out


def markdown(data, command=None, date=None):
  """The markdown table of one harness JSON (`--json`), with its matmul peaks and machine."""
  results = data.get("results", {})
  lines = []
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
  lines += ["", "Ratio = ar_jax / fastest peer (> 1: ar_jax faster). * = timed while other "
            "processes used > 0.2 cores."]
  return "\n".join(lines)


def main(argv=None):
  ap = argparse.ArgumentParser(description="The table of one peer-harness JSON.")
  ap.add_argument("json", help="the harness's --json output")
  ap.add_argument("--command", help="the harness command, quoted in the table's header")
  ap.add_argument("--date", help="the run's date, quoted in the table's header")
  a = ap.parse_args(argv)
  with open(a.json, encoding="utf-8") as f:
    print(markdown(json.load(f), a.command, a.date))


if "bench" in globals():  # Loaded by the harness through PEERS_EXTRA_CASES.
  CASES = cases(globals()["bench"])

if __name__ == "__main__":
  main()

r"""Dense models (MADE, NADE, FVSBN, DeepNADE): train speed against the matmul peak.

  python -m benchmarks.dense [--quick] [--out PATH]
  python -m benchmarks.dense --breakdown made:500,500 [--rounds 5] [--steps 20] [--clock wall]

The default run measures, in one process: the float32 matmul peak and the
streaming memory bandwidth; a jitted, donated Adam step (batch 100 of binary
784-vectors) of each model in `SPEED_CASES`, as steps/s and GFLOP/s against
the peak (FLOPs of the matmuls only, 2 M N K each, backward = 2x forward);
NADE-500 naive vs cached sampling at D = 64, 196, 784 (16 samples); and the
trainer's own sharded step (`steps.jit_train_steps`, as `python -m ar_jax.main`
runs it) on the `:cpu` experiment configs in `--configs`, fed random binary
batches of the dataset's shape. JSON: `benchmarks/results/dense.json`.

`--breakdown MODEL:H` shows where one trainer step's time goes: the trainer's
step, the same step with its extras switched off (the per-step RNG and data
path, the global gradient norm, the non-finite `lax.cond` guard), a bare Adam
step, the loss and gradient alone, the Adam update alone, the same network
without masks (MADE), and a 100 x D @ D x H matmul, alternated round by round.
`--clock cpu` times process CPU time instead of wall time. JSON:
`benchmarks/results/dense_breakdown_<model>_<H>.json`.
"""

import argparse
import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax

import ar_jax
from ar_jax import configs, experiment, models, sharding, steps
from ar_jax.data import pipeline
from benchmarks import timing

ROOT = pathlib.Path(__file__).resolve().parent.parent
# (label, registry name, hparams, layer sizes for the FLOP count; NADE: (D, H)).
SPEED_CASES = [
    ("made 784-500-784", "made", {"hidden_sizes": (500,)}, [784, 500, 784]),
    ("made 784-500-500-784", "made", {"hidden_sizes": (500, 500)}, [784, 500, 500, 784]),
    ("made 784-500-784, 32 masks", "made",
     {"hidden_sizes": (500,), "num_masks": 32, "order_agnostic": True,
      "connectivity_agnostic": True}, [784, 500, 784]),
    ("made 784-8000-784", "made", {"hidden_sizes": (8000,)}, [784, 8000, 784]),
    ("nade 500", "nade", {"hidden_size": 500}, [784, 500]),
]
QUICK_CASES = [("made 16-8-16", "made", {"hidden_sizes": (8,)}, [16, 8, 16]),
               ("nade 4", "nade", {"hidden_size": 4}, [16, 4])]
TRAINER_CONFIGS = "made_mnist,made_8000_1mask_mnist,fvsbn_mnist,nade_mnist,deepnade_mnist"


def mlp_flops(batch, sizes):
  return sum(2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))


def speed_rows(cases, batch=100):
  """Steps/s, examples/s and matmul GFLOP/s of each case's donated Adam step."""
  rows = []
  for label, name, hparams, sizes in cases:
    d = sizes[0]
    x = jax.random.bernoulli(jax.random.key(0), 0.13, (batch, d)).astype(jnp.int32)
    model = models.get(name, input_shape=(d,), **hparams)
    # NADE: the W (H x D) and V (D x H) products, 2 B D H FLOPs each.
    flops = mlp_flops(batch, sizes) if name != "nade" else 2 * (2 * batch * d * sizes[1])
    sec = timing.train_step_seconds(model, x)
    rows.append({"model": label, "steps_per_s": 1 / sec, "examples_per_s": batch / sec,
                 "gflops": 3 * flops / sec / 1e9})
    print(f"{label:28s} {1 / sec:9.1f} steps/s {rows[-1]['gflops']:7.1f} GFLOP/s", flush=True)
  return rows


def nade_sampling(dims=(64, 196, 784), hidden=500, n=16):
  """Seconds to draw `n` NADE samples, naive (a full pass per dim) and cached, per D."""
  rows = []
  for d in dims:
    model = models.get("nade", input_shape=(d,), hidden_size=hidden)
    v = model.init(jax.random.key(0), jnp.zeros((1, d), jnp.int32))
    t = {c: timing.median_seconds(
        lambda key, c=c: ar_jax.sample(model, v, key, n, use_cache=c), jax.random.key(1),
        repeats=3, min_time=0.5) for c in (False, True)}
    rows.append({"D": d, "naive_s": t[False], "cached_s": t[True],
                 "speedup": t[False] / t[True]})
  return rows


def trainer_speed(config, min_time=10.0):
  """Steps/s of the trainer's jitted, sharded step on random batches of the data's shape."""
  exp = experiment.build(config)
  k, b = config.train.steps_per_dispatch, config.train.batch_size
  x = (np.random.default_rng(0).random((k, b, *exp.data.shape)) < 0.13).astype(np.uint8)
  batch = {"x": sharding.to_global(x, sharding.batch_sharding(exp.mesh, 1), x.shape)}
  with jax.set_mesh(exp.mesh):
    sec = timing.carried_seconds(lambda s: exp.train_fn(s, batch)[0],
                                 experiment.init_state(exp), min_time=min_time)
  return {"batch_size": b, "steps_per_dispatch": k, "steps_per_s": k / sec,
          "examples_per_s": k * b / sec}


def load_config(name, variant):
  return configs.load(ROOT / "experiments" / "configs" / f"{name}.py", variant or None)


def _ablated_step(state, batch, *, model, tx, rng, norm, guard):
  """`steps.train_step` (Adam, no EMA, fixed binary data) with parts switched off.

  rng: the per-step `fold_in` key and `pipeline.model_inputs` (else a constant
  key and a cast); norm: `steps.global_norm` of the gradient in `finite`;
  guard: the update inside `lax.cond(finite, ...)` (else applied always).
  """
  if rng:
    key = jax.random.fold_in(jax.random.wrap_key_data(state.rng), state.step)
    bin_key, model_key = jax.random.split(key)
    x, _ = pipeline.model_inputs(batch, bin_key, "fixed", model.input_shape)
  else:
    model_key, x = jax.random.key(0), batch["x"].astype(jnp.int32)
  loss, grads = jax.value_and_grad(lambda p: -jnp.mean(model.apply(
      {"params": p}, x, model_key, method="train_log_prob")))(state.params)
  grad_norm = steps.global_norm(grads) if norm else jnp.zeros((), jnp.float32)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)

  def update(operand):
    params, opt_state, grads = operand
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state

  operand = (state.params, state.opt_state, grads)
  params, opt_state = (jax.lax.cond(finite, update, lambda op: op[:2], operand) if guard
                       else update(operand))
  state = state.replace(step=state.step + 1, params=params, opt_state=opt_state)
  return state, dict(loss=loss, grad_norm=grad_norm, finite=finite)


# Which trainer extras each ablated variant keeps.
ABLATIONS = {
    "trainer step, no grad norm": dict(rng=True, norm=False, guard=True),
    "trainer step, no RNG": dict(rng=False, norm=True, guard=True),
    "trainer step, no extras": dict(rng=False, norm=False, guard=False),
}


def _stepper(fn, state, *args):
  """A zero-argument call advancing a donated `state` by `fn(state, *args)`; returns its loss."""
  box = [state]

  def run():
    box[0], out = fn(box[0], *args)
    return out["loss"] if isinstance(out, dict) else out
  return run


def breakdown_measures(hidden, batch=100, dims=784, model_name="made"):
  """({variant: zero-argument call}, FLOPs of one step, FLOPs of the matmul probe)."""
  if model_name == "made":
    model = models.get("made", input_shape=(dims,), hidden_sizes=hidden)
  else:  # NADE: one hidden layer of hidden[0] units, tied weights, a scan over dims.
    model = models.get("nade", input_shape=(dims,), hidden_size=hidden[0])
  train_fn, new_state, tx, mesh = timing.trainer_step(configs.default_config(), model)
  x_u8 = (np.random.default_rng(0).random((1, batch, dims)) < 0.13).astype(np.uint8)
  x = jnp.asarray(x_u8[0], jnp.int32)
  params = jax.tree.map(jnp.copy, new_state().params)
  fns = {"trainer step": _stepper(
      train_fn, new_state(), jax.device_put({"x": x_u8}, sharding.batch_sharding(mesh, 1)))}
  for name, flags in ABLATIONS.items():
    fn = jax.jit(functools.partial(_ablated_step, model=model, tx=tx, **flags), donate_argnums=0)
    fns[name] = _stepper(fn, new_state(), {"x": jnp.asarray(x_u8[0])})

  loss_fn = lambda p, x: -model.apply({"params": p}, x, method="log_prob").mean()  # noqa: E731
  adam = optax.adam(1e-3)

  @functools.partial(jax.jit, donate_argnums=0)
  def bare(st, x):
    p, o = st
    loss, g = jax.value_and_grad(loss_fn)(p, x)
    u, o = adam.update(g, o, p)
    return (optax.apply_updates(p, u), o), loss

  @functools.partial(jax.jit, donate_argnums=0)
  def adam_only(st, g):
    p, o = st
    u, o = adam.update(g, o, p)
    return (optax.apply_updates(p, u), o), p

  copy = lambda: (jax.tree.map(jnp.copy, params), adam.init(params))  # noqa: E731
  grad_fn = jax.jit(jax.value_and_grad(loss_fn))
  fns["bare Adam step"] = _stepper(bare, copy(), x)
  fns["loss+grad (as trained)"] = lambda: grad_fn(params, x)[0]
  fns["Adam update only"] = _stepper(adam_only, copy(),
                                     jax.tree.map(lambda p: 1e-3 * jnp.ones_like(p), params))
  xf = x.astype(jnp.float32)
  if model_name == "made":  # The same network without masks: the GEMMs and activations alone.
    ws = [p for k, p in sorted(params.items()) if k.startswith("kernel")]
    bs = [p for k, p in sorted(params.items()) if k.startswith("bias")]

    def dense_loss(ws, bs):
      h = xf
      for w, b in zip(ws[:-1], bs[:-1]):
        h = jax.nn.relu(h @ w + b)
      return optax.sigmoid_binary_cross_entropy(h @ ws[-1] + bs[-1], xf).sum(-1).mean()

    dense_grad = jax.jit(jax.value_and_grad(dense_loss, argnums=(0, 1)))
    fns["loss+grad (unmasked dense)"] = lambda: dense_grad(ws, bs)[0]
    flops = 6 * sum(w.size for w in ws) * batch
  else:  # NADE: D rank-1 updates and output dots of [B, H] per pass; x3 with backward.
    flops = 3 * 4 * dims * hidden[0] * batch
  w0 = jnp.ones((dims, hidden[0]), jnp.float32)
  mm = jax.jit(jnp.matmul)
  fns["matmul 100xD@DxH1"] = lambda: mm(xf, w0)
  return fns, flops, 2 * batch * w0.size


def run_breakdown(spec, rounds, calls, clock, out):
  model_name, _, widths = spec.partition(":")
  if model_name not in ("made", "nade") or not widths.replace(",", "").isdigit():
    raise ValueError(f"--breakdown={spec!r}: expected MODEL:H with MODEL made or nade and H "
                     "the hidden widths, e.g. made:500,500, made:8000 or nade:500")
  hidden = tuple(int(h) for h in widths.split(","))
  fns, flops, mm_flops = breakdown_measures(hidden, model_name=model_name)
  med = {k: m for k, (m, _) in timing.interleaved(fns, rounds, clock, calls).items()}
  rate = mm_flops / med["matmul 100xD@DxH1"] / 1e9
  print(f"{model_name} {hidden}, batch 100, {clock} clock: {flops / 1e9:.2f} GFLOP/step; "
        f"matmul rate {rate:.0f} GFLOP/s")
  for k, v in med.items():
    print(f"  {k:28s} {v * 1e3:8.2f} ms")
  timing.write_record(out or timing.default_out(
      f"dense_breakdown_{model_name}_{'x'.join(map(str, hidden))}", False),
      {"model": model_name, "hidden": hidden, "clock": clock, "median_s": med,
       "flops_per_step": flops, "matmul_gflops": rate})


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
  ap.add_argument("--configs", default=TRAINER_CONFIGS, help="trainer configs ('' = none)")
  ap.add_argument("--variant", default="cpu", help="config variant ('' = full)")
  ap.add_argument("--breakdown", help="MODEL:H, e.g. made:500,500, made:8000 or nade:500")
  ap.add_argument("--rounds", type=int, default=5)
  ap.add_argument("--steps", type=int, default=20, help="--breakdown: calls per round")
  ap.add_argument("--clock", choices=sorted(timing.CLOCKS), default="wall")
  ap.add_argument("--out")
  a = ap.parse_args(argv)
  if a.breakdown:
    return run_breakdown(a.breakdown, a.rounds, a.steps, a.clock, a.out)
  peak = timing.matmul_peak(((64, 64, 64),)) if a.quick else timing.matmul_peak()
  bandwidth = timing.memory_bandwidth(400_000 if a.quick else 200_000_000)
  train = speed_rows(QUICK_CASES if a.quick else SPEED_CASES)
  for r in train:
    r["pct_peak"] = 100 * r["gflops"] / peak
  sampling = nade_sampling(*(((5,), 4, 2) if a.quick else ()))
  trainer = []
  for name in filter(None, a.configs.split(",")):
    config = load_config(name, a.variant)
    if a.quick and "hidden_sizes" in config.model.hparams:
      config.model.hparams.hidden_sizes = (16,)
    trainer.append({"config": f"{name}:{a.variant}" if a.variant else name,
                    **trainer_speed(config, min_time=0.01 if a.quick else 10.0)})
  print(f"\nmatmul peak {peak:.1f} GFLOP/s, streaming bandwidth {bandwidth:.1f} GB/s (this run)")
  print(timing.markdown(("model", "steps_per_s", "examples_per_s", "gflops", "pct_peak"), train))
  print(timing.markdown(("D", "naive_s", "cached_s", "speedup"), sampling))
  print(timing.markdown(("config", "batch_size", "steps_per_s", "examples_per_s"), trainer))
  result = {"memory_bandwidth_gbs": bandwidth, "train": train, "nade_sampling": sampling,
            "trainer": trainer}
  timing.write_record(a.out or timing.default_out("dense", a.quick), result,
                      matmul_peak_gflops=peak, quick=a.quick)
  return result


if __name__ == "__main__":
  main()

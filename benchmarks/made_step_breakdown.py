"""Where a MADE (or NADE) train step's time goes: the trainer's step vs its parts, back to back.

  python benchmarks/made_step_breakdown.py [--model made|nade] [--hidden 500,500] \
      [--rounds 5] [--steps 20] [--clock cpu|wall] [--json out.json]

Times, alternating in one process (each round runs every variant once, the
table gives the median over rounds): the trainer's jitted step
(`ar_jax.steps.jit_train_steps`, one step per dispatch), the same step with
parts of the trainer's extras removed (`_ablated_step`: the per-step RNG and
data path, the global gradient norm, the non-finite `lax.cond` guard), a
bare Adam step (value_and_grad + optax.adam, donated), the loss and gradient
alone, the Adam update alone, and a plain (unmasked) dense MLP's loss and
gradient of the same shape. `--clock cpu` (default) times process CPU time
(both threads), which other jobs on a shared machine inflate less than wall
time; `--clock wall` is what the peer harness measures. The matmul rate of
this machine is measured in the same rounds (f32 100 x D @ D x H of the
first layer), so FLOP shares can be read off on a shared machine. Batch 100
of random binary vectors, float32.
"""

import argparse
import functools
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ar_jax import configs, models, optim, sharding, steps, train_state
from ar_jax.data import pipeline

CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def _timer(fn, steps, clock="cpu"):
  now = CLOCKS[clock]

  def run():
    out = None
    t = now()
    for _ in range(steps):
      out = fn()
    jax.block_until_ready(out)
    return (now() - t) / steps
  return run


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

  def loss_fn(p):
    return -jnp.mean(model.apply({"params": p}, x, model_key, method="train_log_prob"))

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
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


def build(hidden, batch=100, dims=784, model_name="made"):
  if model_name == "made":
    model = models.get("made", input_shape=(dims,), hidden_sizes=hidden)
  else:  # NADE: one hidden layer of hidden[0] units, tied weights, a scan over dims.
    model = models.get("nade", input_shape=(dims,), hidden_size=hidden[0])
  c = configs.default_config()
  c.optim.lr = 1e-3
  mesh = sharding.make_mesh()
  tx, schedule = optim.make_optimizer(c.optim, optim.num_updates(c))
  dummy = train_state.dummy_inputs(model, np.int32)
  abstract = train_state.abstract_state(model, tx, False, dummy)
  train_fn = steps.jit_train_steps(c, model, tx, schedule,
                                   train_state.state_sharding(abstract, mesh), mesh)
  state = {"s": train_state.init_state(model, tx, False, jax.random.key(0), mesh, dummy)}
  x_u8 = (np.random.default_rng(0).random((1, batch, dims)) < 0.13).astype(np.uint8)
  batch_dev = jax.device_put({"x": x_u8}, sharding.batch_sharding(mesh, 1))
  x = jnp.asarray(x_u8[0], jnp.int32)
  params = jax.tree.map(jnp.copy, state["s"].params)  # the state is donated

  def trainer():
    state["s"], m = train_fn(state["s"], batch_dev)
    return m["loss"]

  def ablated(flags):
    fn = jax.jit(functools.partial(_ablated_step, model=model, tx=tx, **flags),
                 donate_argnums=0)
    box = {"s": train_state.init_state(model, tx, False, jax.random.key(0), mesh, dummy)}
    batch1 = {"x": jnp.asarray(x_u8[0])}

    def run():
      box["s"], m = fn(box["s"], batch1)
      return m["loss"]
    return run

  loss_fn = lambda p, x: -model.apply({"params": p}, x, method="log_prob").mean()  # noqa: E731
  adam = optax.adam(1e-3)

  @functools.partial(jax.jit, donate_argnums=0)
  def bare(st, x):
    p, o = st
    loss, g = jax.value_and_grad(loss_fn)(p, x)
    u, o = adam.update(g, o, p)
    return (optax.apply_updates(p, u), o), loss

  bare_state = {"s": (jax.tree.map(jnp.copy, params), adam.init(params))}

  def bare_step():
    bare_state["s"], loss = bare(bare_state["s"], x)
    return loss

  grad_fn = jax.jit(jax.value_and_grad(loss_fn))

  @functools.partial(jax.jit, donate_argnums=0)
  def adam_only(st, g):
    p, o = st
    u, o = adam.update(g, o, p)
    return optax.apply_updates(p, u), o

  grads = jax.tree.map(lambda p: 1e-3 * jnp.ones_like(p), params)
  adam_state = {"s": (jax.tree.map(jnp.copy, params), adam.init(params))}

  def adam_step():
    adam_state["s"] = adam_only(adam_state["s"], grads)
    return adam_state["s"][0]

  xf = x.astype(jnp.float32)
  fns = {
      "trainer step": trainer,
      **{name: ablated(flags) for name, flags in ABLATIONS.items()},
      "bare Adam step": bare_step,
      "loss+grad (as trained)": lambda: grad_fn(params, x)[0],
      "Adam update only": adam_step,
  }
  w0 = jnp.ones((dims, hidden[0]), jnp.float32)
  if model_name == "made":
    # The same network without masks: what the GEMMs and activations cost alone.
    dense = [p for k, p in sorted(params.items()) if k.startswith("kernel")]
    bias = [p for k, p in sorted(params.items()) if k.startswith("bias")]

    def dense_loss(ws, bs):
      h = xf
      for w, b in zip(ws[:-1], bs[:-1]):
        h = jax.nn.relu(h @ w + b)
      logits = h @ ws[-1] + bs[-1]
      return optax.sigmoid_binary_cross_entropy(logits, xf).sum(-1).mean()

    dense_grad = jax.jit(jax.value_and_grad(dense_loss, argnums=(0, 1)))
    fns["loss+grad (unmasked dense)"] = lambda: dense_grad(dense, bias)[0]
    flops = 6 * sum(w.size for w in dense) * batch
  else:  # NADE: 784 rank-1 updates and output dots of [B, H] per pass; x3 with backward.
    flops = 3 * 4 * dims * hidden[0] * batch
  mm = jax.jit(lambda a, b: a @ b)
  fns["matmul 100xD@DxH1"] = lambda: mm(xf, w0)
  return fns, flops, 2 * batch * w0.size


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--model", choices=("made", "nade"), default="made")
  ap.add_argument("--hidden", default="500,500", help="MADE: layer widths; NADE: H")
  ap.add_argument("--rounds", type=int, default=5)
  ap.add_argument("--steps", type=int, default=20)
  ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
  ap.add_argument("--json")
  a = ap.parse_args()
  hidden = tuple(int(h) for h in a.hidden.split(","))
  fns, flops, mm_flops = build(hidden, model_name=a.model)
  timers = {k: _timer(f, a.steps, a.clock) for k, f in fns.items()}
  for t in timers.values():  # compile and warm up
    t()
  times = {k: [] for k in timers}
  for _ in range(a.rounds):
    for k, t in timers.items():
      times[k].append(t())
  med = {k: statistics.median(v) for k, v in times.items()}
  rate = mm_flops / med["matmul 100xD@DxH1"] / 1e9
  name = (f"MADE 784-{'-'.join(map(str, hidden))}-784" if a.model == "made"
          else f"NADE 784-{hidden[0]}")
  print(f"{name}, batch 100, {a.clock} clock: {flops / 1e9:.2f} GFLOP/step "
        f"(dense count, forward + backward); matmul rate this run {rate:.0f} GFLOP/s")
  for k, v in med.items():
    print(f"  {k:28s} {v * 1e3:8.2f} ms")
  if a.json:
    with open(a.json, "w") as f:
      json.dump({"model": a.model, "hidden": hidden, "clock": a.clock, "median_s": med,
                 "all_s": times, "flops_per_step": flops, "matmul_gflops": rate}, f, indent=1)


if __name__ == "__main__":
  main()

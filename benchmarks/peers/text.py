"""ar_jax GPT cases for the peer harness (loaded by benchmarks/peer_cases.py).

`gpt_baby/ar_jax` and `gpt_small/ar_jax` train ar_jax's `transformer` in the
configuration of the harness's nanoGPT rows (bench.CFG): layers, heads, width,
block, batch, vocabulary 65, no dropout, no bias, weights tied, learned
positions, float32. Optimizer as nanoGPT's `configure_optimizers`: AdamW (lr
from CFG, betas 0.9/0.99, eps 1e-8) with weight decay 0.1 on the parameters
with >= 2 axes only (kernels, token and position embeddings; not LayerNorm
scales or ar_jax's start vector). Loss: mean next-token cross-entropy of a
batch of random tokens. One jitted step with the state donated; warm-up and
compilation excluded by bench.time_train. tokens/s = batch * block / step time.

`bench` is injected by the harness; heavy imports happen inside the case.
"""

import functools


def _run(args, cfg_name):
  jax = bench.setup_jax()  # noqa: F821  (injected by bench_peers.py)
  import jax.numpy as jnp
  import numpy as np
  import optax
  import ar_jax

  c = bench.CFG[cfg_name]  # noqa: F821
  B, T = c["batch"], c["block"]
  model = ar_jax.models.get(
      "transformer", input_shape=(T,), num_classes=c["vocab"], num_layers=c["n_layer"],
      num_heads=c["n_head"], width=c["n_embd"], dropout=0.0, use_bias=False,
      tie_weights=True, positions="learned")
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.integers(0, c["vocab"], (B, T)), jnp.int32)
  variables = model.init(jax.random.key(0), x)
  decay_mask = lambda params: jax.tree.map(lambda p: p.ndim >= 2, params)
  opt = optax.adamw(c["lr"], b1=0.9, b2=0.99, eps=1e-8, weight_decay=0.1, mask=decay_mask)

  @functools.partial(jax.jit, donate_argnums=0)
  def train_step(state, x):
    v, s = state
    loss, g = jax.value_and_grad(
        lambda v: -model.apply(v, x, method="log_prob").mean() / T)(v)
    u, s = opt.update(g, s, v)
    return (optax.apply_updates(v, u), s), loss

  box = {"state": (variables, opt.init(variables))}

  def step():
    box["state"], loss = train_step(box["state"], x)
    return loss

  res = bench.time_train(step, jax.block_until_ready, args)  # noqa: F821
  nparams = sum(p.size for p in jax.tree.leaves(box["state"][0]))
  res.update(model="GPT", config=cfg_name, batch=B, tokens_per_s=B * T / res["step_s"],
             params=int(nparams))
  return res


def gpt_baby(args):
  return _run(args, "gpt_baby")


def gpt_small(args):
  return _run(args, "gpt_small")


gpt_baby.label = gpt_small.label = "ar_jax transformer"
CASES = {"gpt_baby/ar_jax": gpt_baby, "gpt_small/ar_jax": gpt_small}

"""ar_jax image cases for the peer harness (loaded by `benchmarks/peer_cases.py`).

Same configurations as the harness's pytorch-generative rows (`bench.CFG`):
28x28x1 random binary images (P(1) = 0.13, `bench.rand_binary`), batch 32,
Adam, loss = mean over the batch of the summed Bernoulli NLL; sampling 16
images with `ar_jax.sample` on the cached path (one network evaluation at
one pixel per step; the peers re-run the whole network per pixel).

- "pixelcnn/ar_jax": `pixelcnn` with num_blocks=4, residual_channels=32 (a
  64-channel stream, 1x1 down to 32, 3x3, 1x1 up, as pytorch-generative's
  n_residual=4, residual_channels=32), head_channels=32: 59,073 params, the
  peer's count.
- "gatedpixelcnn/ar_jax": `gated_pixelcnn` with num_layers=4, channels=32,
  head_channels=32 after a 7x7 input layer (the peer's n_gated=4,
  gated_channels=32, head_channels=32). The stacks follow the paper's
  Figure 2 (a k x k vertical conv with its lower rows masked, a 1 x k
  horizontal conv), where the peer factorizes the vertical conv into 1xN
  then Nx1 and adds a 1x1 from the vertical input: 133,921 stored params,
  99,553 of them unmasked (masked kernel entries are stored but always
  multiplied by 0), against the peer's 95,553.
- The PixelCNN++ case ("pixelcnnpp/ar_jax", comparable to the harness's
  "pixelcnn/tfp") lives in `benchmarks/peers/image_pp.py`, owned by the
  PixelCNN++ model.

`bench` is injected by the harness; heavy imports happen inside the case.
"""

import functools

IMG = (28, 28, 1)


def _run(args, model_name, cfg_name, hparams, label):
  jax = bench.setup_jax()  # noqa: F821  (injected by bench_peers.py)
  import jax.numpy as jnp
  import numpy as np
  import optax
  import ar_jax

  c = bench.CFG[cfg_name]  # noqa: F821
  b = c["batch"]
  model = ar_jax.models.get(model_name, input_shape=IMG, **hparams)
  data = jnp.asarray(bench.rand_binary((4, b) + IMG), jnp.int32)  # noqa: F821
  batches = list(data)  # 4 device arrays, cycled like the peers' data
  variables = model.init(jax.random.key(0), batches[0])
  opt = optax.adam(c["lr"])

  @functools.partial(jax.jit, donate_argnums=0)
  def train_step(state, x):
    v, s = state
    loss, g = jax.value_and_grad(lambda v: -model.apply(v, x, method="log_prob").mean())(v)
    u, s = opt.update(g, s, v)
    return (optax.apply_updates(v, u), s), loss

  box = {"state": (variables, opt.init(variables)), "i": 0}

  def step():
    box["state"], loss = train_step(box["state"], batches[box["i"] % 4])
    box["i"] += 1
    return box["state"], loss

  res = bench.time_train(step, jax.block_until_ready, args)  # noqa: F821
  params = box["state"][0]
  res.update(model=label, config=" ".join(f"{k}={v}" for k, v in hparams.items()) + " 28x28x1",
             batch=b, params=int(sum(p.size for p in jax.tree.leaves(params))),
             train_images_per_s=b / res["step_s"])
  n = c["sample_n"]
  keys = iter(jax.random.split(jax.random.key(1), 64))
  res.update(bench.time_sample(  # noqa: F821
      lambda: ar_jax.sample(model, params, next(keys), n), jax.block_until_ready, args))
  res.update(sample_n=n, sample_passes=int(np.prod(IMG)), sample_path="cached")
  return res


def pixelcnn(args):
  c = bench.CFG["pixelcnn_pg"]  # noqa: F821
  return _run(args, "pixelcnn", "pixelcnn_pg",
              {"num_blocks": c["n_residual"], "residual_channels": c["residual_channels"],
               "head_channels": c["head_channels"]}, "PixelCNN")


def gated(args):
  c = bench.CFG["gated_pg"]  # noqa: F821
  return _run(args, "gated_pixelcnn", "gated_pg",
              {"num_layers": c["n_gated"], "channels": c["gated_channels"],
               "head_channels": c["head_channels"]}, "GatedPixelCNN")


pixelcnn.label = "ar_jax pixelcnn (cached sampling)"
gated.label = "ar_jax gated_pixelcnn (cached sampling)"
CASES = {"pixelcnn/ar_jax": pixelcnn, "gatedpixelcnn/ar_jax": gated}
# "pixelcnnpp/ar_jax" (the PixelCNN++ row, comparable to "pixelcnn/tfp") is
# added by benchmarks/peers/image_pp.py, merged by benchmarks/peer_cases.py.

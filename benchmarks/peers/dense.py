"""ar_jax's dense-model cases for the peer harness: MADE, MADE-8000, NADE.

Loaded by `benchmarks/peer_cases.py` with the harness injected as the global
`bench` (see that file and `../shared/peers/README.md`). The configuration of
every case is the peers' (`bench.CFG[prefix]`): float32, batch 100 of random
binary vectors from `bench.rand_binary`, Adam at `CFG["lr"]`, loss = mean over
the batch of the summed Bernoulli NLL, warm-up and compilation excluded
(`bench.time_train`, `bench.time_sample`).

Training runs the library's own train step, the one `python -m ar_jax.main`
uses: `ar_jax.steps.jit_train_steps` on a `TrainState` from
`ar_jax.train_state.init_state`, with the optimizer of
`ar_jax.optim.make_optimizer` (plain Adam, constant lr, no clipping, no EMA),
one step per dispatch, the state donated. So each timed step also pays for
what the trainer does beyond the peers' bare Adam step: the per-step RNG
fold-in, the global gradient norm and the non-finite guard. The batch is fed
already binary (`binarization="fixed"`, stored uint8), cycled over 8 batches
like the peers'.

Sampling is `ar_jax.sample` (one jitted `lax.scan` over the 784 dims) on the
trained params: the models' cached samplers (`supports_cache`), where the
peers re-run their full network once per dimension (MADE) or use the same
O(DH) recursion (pytorch-generative's NADE).

Heavy imports happen inside the case functions: the harness imports this file
in its runner process too.
"""


def _config(cfg):
  """The trainer config of one case: only the keys the train step reads."""
  from ar_jax import configs
  c = configs.default_config()
  c.data.binarization = "fixed"  # The harness's data is binary already.
  c.optim.name = "adam"
  c.optim.lr = cfg["lr"]
  c.optim.schedule = "constant"
  c.train.batch_size = cfg["batch"]
  return c


def _run(args, prefix, model_name, hparams, sample):
  jax = bench.setup_jax()  # noqa: F821  (injected by the harness)
  import numpy as np
  import ar_jax
  from ar_jax import models, optim, sharding, steps, train_state

  cfg = bench.CFG[prefix]  # noqa: F821
  D, B = cfg["D"], cfg["batch"]
  config = _config(cfg)
  model = models.get(model_name, input_shape=(D,), **hparams)
  mesh = sharding.make_mesh()
  tx, schedule = optim.make_optimizer(config.optim, optim.num_updates(config))
  dummy = train_state.dummy_inputs(model, np.int32)
  abstract = train_state.abstract_state(model, tx, False, dummy)
  state_sharding = train_state.state_sharding(abstract, mesh)
  train_fn = steps.jit_train_steps(config, model, tx, schedule, state_sharding, mesh)
  box = {"state": train_state.init_state(model, tx, False, jax.random.key(0), mesh, dummy),
         "i": 0}
  # 8 batches of [K=1, B, D] (one step per dispatch), uint8 like stored data.
  data = bench.rand_binary((8, 1, B, D)).astype(np.uint8)  # noqa: F821
  batches = [jax.device_put({"x": x}, sharding.batch_sharding(mesh, 1)) for x in data]

  def step():
    box["state"], metrics = train_fn(box["state"], batches[box["i"] % 8])
    box["i"] += 1
    return metrics["loss"]

  with jax.set_mesh(mesh):
    res = bench.time_train(step, jax.block_until_ready, args)  # noqa: F821
  params = box["state"].params
  res.update(batch=B, params=int(sum(p.size for p in jax.tree.leaves(params))),
             train_path="ar_jax.steps.jit_train_steps")
  if model_name == "made":
    H = cfg["hidden"]
    res.update(model="MADE", config=f"{D}-{'-'.join(map(str, H))}-{D}",
               flops_per_step=bench.made_flops_per_step(D, H, B))  # noqa: F821
  else:
    res.update(model="NADE", config=f"{D}-{cfg['hidden']}")
  if sample:
    n = cfg["sample_n"]
    keys = iter(jax.random.split(jax.random.key(1), 64))
    variables = {"params": params}
    res.update(bench.time_sample(  # noqa: F821
        lambda: ar_jax.sample(model, variables, next(keys), n),
        jax.block_until_ready, args))
    res.update(sample_n=n, sample_cached=bool(ar_jax.sampling.has_cache(model)))
  return res


def made(args):
  return _run(args, "made", "made", {"hidden_sizes": tuple(bench.CFG["made"]["hidden"])},  # noqa: F821
              sample=True)


def made8000(args):
  return _run(args, "made8000", "made",
              {"hidden_sizes": tuple(bench.CFG["made8000"]["hidden"])}, sample=False)  # noqa: F821


def nade(args):
  return _run(args, "nade", "nade", {"hidden_size": bench.CFG["nade"]["hidden"]},  # noqa: F821
              sample=True)


made.label = made8000.label = "ar_jax MADE (trainer step)"
nade.label = "ar_jax NADE (sigmoid, trainer step)"
CASES = {"made/ar_jax": made, "made8000/ar_jax": made8000, "nade/ar_jax": nade}

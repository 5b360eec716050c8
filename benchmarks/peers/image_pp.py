"""ar_jax PixelCNN++ case for the peer harness (merged by benchmarks/peer_cases.py).

Same configuration as the harness's "pixelcnn/tfp" case (bench.CFG["pixelcnn_tfp"]):
tfd.PixelCNN(num_resnet=1, num_hierarchies=2, num_filters=32,
num_logistic_mix=5, dropout_p=0, high=1) with weight norm on binary 28x28x1
images, batch 32, Adam; ar_jax's `pixelcnn_pp` with num_resnet=1,
num_levels=2, num_filters=32, num_mixtures=5, dropout=0, num_classes=2 (a
discretized logistic mixture over the two levels, as TFP with high=1),
weight_norm=True. The architectures match layer for layer (u/ul streams,
gated ResNets with concat-ELU, one stride-2 level, R then R+1 layers down);
TFP's kernels are full-size with masked ("constrained") entries, which it
counts as parameters, ar_jax's are shifted (only the used entries), so the
reported counts differ by those zeros. Loss: mean over the batch of -log_prob
(nats), one jitted optax step with the state donated. Sampling 16 images:
ar_jax.sample with the cached (incremental) step.
"""

import functools


def pixelcnn_pp(args):
    jax = bench.setup_jax()  # noqa: F821  (injected by bench_peers.py)
    import jax.numpy as jnp
    import optax
    import ar_jax

    c = bench.CFG["pixelcnn_tfp"]  # noqa: F821
    B, n = c["batch"], c["sample_n"]
    shape = (*bench.IMG, 1)  # noqa: F821
    model = ar_jax.models.get(
        "pixelcnn_pp", input_shape=shape, num_classes=c["high"] + 1,
        num_filters=c["num_filters"], num_resnet=c["num_resnet"],
        num_levels=c["num_hierarchies"], num_mixtures=c["num_logistic_mix"],
        dropout=c["dropout_p"], weight_norm=True)
    data = jnp.asarray(bench.rand_binary((4, B) + shape), jnp.int32)  # noqa: F821
    batches = list(data)
    variables = model.init(jax.random.key(0), batches[0])
    opt = optax.adam(c["lr"])

    @functools.partial(jax.jit, donate_argnums=0)
    def train_step(state, x, key):
        v, s = state
        loss, g = jax.value_and_grad(
            lambda v: -model.apply(v, x, key, method="train_log_prob").mean())(v)
        u, s = opt.update(g, s, v)
        return (optax.apply_updates(v, u), s), loss

    box = {"state": (variables, opt.init(variables)), "i": 0}

    def step():
        box["state"], loss = train_step(box["state"], batches[box["i"] % 4],
                                        jax.random.key(box["i"]))
        box["i"] += 1
        return loss

    res = bench.time_train(step, jax.block_until_ready, args)  # noqa: F821
    res.update(model="PixelCNN++ (ar_jax pixelcnn_pp)",
               config=(f"num_resnet={c['num_resnet']} num_levels={c['num_hierarchies']} "
                       f"num_filters={c['num_filters']} mixtures={c['num_logistic_mix']} "
                       f"dropout={c['dropout_p']} num_classes={c['high'] + 1} 28x28x1 "
                       "weight_norm cached sampling"),
               batch=B, params=int(sum(p.size for p in jax.tree.leaves(box["state"][0]))),
               # The same model family and configuration is TFP's PixelCNN++, not
               # pytorch-generative's PixelCNN: benchmarks/peer_table.py compares
               # this row with it only.
               compare_to=["pixelcnn/tfp"])
    keys = iter(jax.random.split(jax.random.key(1), 64))
    res.update(bench.time_sample(  # noqa: F821
        lambda: ar_jax.sample(model, box["state"][0], next(keys), n),
        jax.block_until_ready, args))
    res.update(sample_n=n, sample_passes=shape[0] * shape[1])
    return res


pixelcnn_pp.label = "ar_jax pixelcnn_pp (cached sampler)"
CASES = {"pixelcnn/ar_jax-pp": pixelcnn_pp}

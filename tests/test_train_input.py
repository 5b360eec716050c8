"""Input pipeline: exact whole-split eval, step-indexed order, per-process rows."""

import jax
import numpy as np

import train_testlib
from ar_jax import experiment
from ar_jax import input_pipeline
from ar_jax import sharding

train_testlib.register_tiny_model()


def test_eval_over_ragged_split_equals_full_array_mean():
  # 37 validation examples, eval batches of 8: the last batch has 5 real rows.
  c = train_testlib.tiny_config(data__synthetic__num_validation=37,
                                data__synthetic__num_classes=256,
                                data__binarization="threshold")
  exp = experiment.build(c)
  with jax.set_mesh(exp.mesh):
    state = experiment.init_state(exp)
    # Non-trivial params, so every example has a different log-likelihood.
    params = jax.tree.map(lambda p: p + 0.3 * jax.random.normal(jax.random.key(1), p.shape),
                          state.params)
    res = experiment.evaluate(exp, params, "validation")
  x_u8 = input_pipeline.load_split(c.data, "validation")
  x = (x_u8 >= 128).astype(np.int32).reshape((37,) + tuple(exp.model.input_shape))
  logp = exp.model.apply({"params": params}, x, method="log_prob")
  direct = -np.mean(np.asarray(logp, np.float64))
  assert res["num_examples"] == 37
  np.testing.assert_allclose(res["nll"], direct, rtol=1e-6)
  np.testing.assert_allclose(res["bpd"], direct / (16 * np.log(2)), rtol=1e-6)


def test_train_order_is_a_pure_function_of_the_step():
  x = np.arange(20, dtype=np.uint8)[:, None]
  a = input_pipeline.TrainBatches(x, batch_size=4, seed=3)
  b = input_pipeline.TrainBatches(x, batch_size=4, seed=3)
  assert a.steps_per_epoch == 5
  epoch0 = np.concatenate([a.local_batch(s) for s in range(5)])
  assert sorted(epoch0.ravel()) == list(range(20))  # Each example once per epoch.
  epoch1 = np.concatenate([a.local_batch(s) for s in range(5, 10)])
  assert not np.array_equal(epoch0, epoch1)  # A fresh permutation per epoch.
  for s in (7, 0, 13, 7):  # Any order of requests, a new instance: same batches.
    np.testing.assert_array_equal(a.local_batch(s), b.local_batch(s))
  np.testing.assert_array_equal(a.local_batches(3, 2), np.stack([a.local_batch(3),
                                                                 a.local_batch(4)]))


def test_process_rows_partition_the_global_batch():
  x = np.arange(40, dtype=np.uint8)[:, None]
  full = input_pipeline.TrainBatches(x, batch_size=8, seed=0)
  parts = [input_pipeline.TrainBatches(x, batch_size=8, seed=0, rows=r)
           for r in ((0, 4), (4, 8))]
  for step in (0, 6):
    np.testing.assert_array_equal(
        np.concatenate([p.local_batch(step) for p in parts]), full.local_batch(step))
  mesh = sharding.make_mesh()
  assert sharding.process_rows(sharding.batch_sharding(mesh), (8, 3)) == (0, 8)


def test_split_mode_shards_cover_the_split_once():
  c = train_testlib.tiny_config(data__process_sharding="split")
  full = input_pipeline.load_split(c.data, "validation")
  shards = [input_pipeline.load_split(c.data, "validation", process_index=i,
                                      process_count=3) for i in range(3)]
  assert sum(len(s) for s in shards) == len(full)
  rows = sorted(map(bytes, np.concatenate(shards)))
  assert rows == sorted(map(bytes, full))


def test_eval_batches_pad_and_mask():
  x = np.arange(1, 11, dtype=np.uint8)[:, None]
  got = list(input_pipeline.EvalBatches(x, batch_size=4))
  assert [i for i, _, _ in got] == [0, 1, 2]
  _, last_x, last_mask = got[-1]
  np.testing.assert_array_equal(last_mask, [True, True, False, False])
  np.testing.assert_array_equal(last_x[:, 0], [9, 10, 0, 0])

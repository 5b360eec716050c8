"""Input pipeline: exact whole-split eval, step-indexed order, per-process rows, windows."""

import jax
import numpy as np
import pytest

import train_testlib
from ar_jax import evaluation
from ar_jax import experiment
from ar_jax import sharding
from ar_jax.data import pipeline


@pytest.fixture(autouse=True, scope="module")
def _tiny_models():  # module scope: module-scoped fixtures train with it
  with train_testlib.tiny_models():
    yield


def test_eval_over_ragged_split_equals_full_array_mean():
  # 37 validation examples, eval batches of 8: the last batch has 5 real rows.
  c = train_testlib.tiny_config(
      data__name=train_testlib.synthetic_data(validation=37, classes=256),
      data__binarization="threshold")
  exp = experiment.build(c)
  with jax.set_mesh(exp.mesh):
    state = experiment.init_state(exp)
    # Non-trivial params, so every example has a different log-likelihood.
    params = jax.tree.map(lambda p: p + 0.3 * jax.random.normal(jax.random.key(1), p.shape),
                          state.params)
    res = evaluation.evaluate(exp, params, "validation")
  x_u8 = pipeline.load_split(c.data, "validation")["x"]
  x = (x_u8 >= 128).astype(np.int32).reshape((37,) + tuple(exp.model.input_shape))
  logp = exp.model.apply({"params": params}, x, method="log_prob")
  direct = -np.mean(np.asarray(logp, np.float64))
  assert res["num_examples"] == 37
  np.testing.assert_allclose(res["nll"], direct, rtol=1e-6)
  np.testing.assert_allclose(res["bpd"], direct / (16 * np.log(2)), rtol=1e-6)


def _arrays(n, **extra):
  return {"x": np.arange(n, dtype=np.uint8)[:, None], **extra}


def test_train_order_is_a_pure_function_of_the_step():
  a = pipeline.TrainBatches(_arrays(20), batch_size=4, seed=3)
  b = pipeline.TrainBatches(_arrays(20), batch_size=4, seed=3)
  assert a.steps_per_epoch == 5
  epoch0 = np.concatenate([a.local_batch(s)["x"] for s in range(5)])
  assert sorted(epoch0.ravel()) == list(range(20))  # Each example once per epoch.
  epoch1 = np.concatenate([a.local_batch(s)["x"] for s in range(5, 10)])
  assert not np.array_equal(epoch0, epoch1)  # A fresh permutation per epoch.
  for s in (7, 0, 13, 7):  # Any order of requests, a new instance: same batches.
    np.testing.assert_array_equal(a.local_batch(s)["x"], b.local_batch(s)["x"])
  np.testing.assert_array_equal(a.local_batches(3, 2)["x"],
                                np.stack([a.local_batch(3)["x"], a.local_batch(4)["x"]]))


def test_cond_rows_travel_with_their_examples():
  x = np.arange(20, dtype=np.uint8)[:, None]
  batches = pipeline.TrainBatches({"x": x, "cond": 100 + np.arange(20)}, batch_size=4, seed=1)
  for s in (0, 6):
    b = batches.local_batch(s)
    np.testing.assert_array_equal(b["cond"], 100 + b["x"][:, 0])
  (_, first, mask), = list(pipeline.EvalBatches({"x": x[:3], "cond": np.arange(3) + 7},
                                                batch_size=4))
  np.testing.assert_array_equal(first["cond"], [7, 8, 9, 0])
  np.testing.assert_array_equal(mask, [True, True, True, False])


def test_process_rows_partition_the_global_batch():
  full = pipeline.TrainBatches(_arrays(40), batch_size=8, seed=0)
  parts = [pipeline.TrainBatches(_arrays(40), batch_size=8, seed=0, rows=r)
           for r in ((0, 4), (4, 8))]
  for step in (0, 6):
    np.testing.assert_array_equal(
        np.concatenate([p.local_batch(step)["x"] for p in parts]), full.local_batch(step)["x"])
  mesh = sharding.make_mesh()
  assert sharding.process_rows(sharding.batch_sharding(mesh), (8, 3)) == (0, 8)


def test_split_mode_shards_cover_the_split_once():
  c = train_testlib.tiny_config(data__process_sharding="split")
  full = pipeline.load_split(c.data, "validation")["x"]
  shards = [pipeline.load_split(c.data, "validation", process_index=i,
                                process_count=3)["x"] for i in range(3)]
  assert sum(len(s) for s in shards) == len(full)
  rows = sorted(map(bytes, np.concatenate(shards)))
  assert rows == sorted(map(bytes, full))


def test_eval_batches_pad_and_mask():
  x = np.arange(1, 11, dtype=np.uint8)[:, None]
  got = list(pipeline.EvalBatches({"x": x}, batch_size=4))
  assert [i for i, _, _ in got] == [0, 1, 2]
  _, last, last_mask = got[-1]
  np.testing.assert_array_equal(last_mask, [True, True, False, False])
  np.testing.assert_array_equal(last["x"][:, 0], [9, 10, 0, 0])


# ---- streams: random windows for training, every position once for eval ----

def test_train_windows_are_a_pure_function_of_seed_and_step():
  stream = {"x": np.arange(1000, dtype=np.int32)}
  a = pipeline.TrainWindows(stream, batch_size=6, seed=3, seq_len=16)
  b = pipeline.TrainWindows(stream, batch_size=6, seed=3, seq_len=16)
  w = a.local_batch(5)["x"]
  assert w.shape == (6, 16)
  np.testing.assert_array_equal(np.diff(w, axis=1), 1)  # Consecutive positions.
  assert w.min() >= 0 and w.max() <= 999
  for s in (9, 5, 0, 9):  # Resume at any step, any request order: same windows.
    np.testing.assert_array_equal(a.local_batch(s)["x"], b.local_batch(s)["x"])
  assert not np.array_equal(a.local_batch(0)["x"], a.local_batch(1)["x"])
  other_seed = pipeline.TrainWindows(stream, batch_size=6, seed=4, seq_len=16)
  assert not np.array_equal(other_seed.local_batch(5)["x"], w)
  parts = [pipeline.TrainWindows(stream, batch_size=6, seed=3, seq_len=16, rows=r)
           for r in ((0, 2), (2, 6))]
  np.testing.assert_array_equal(
      np.concatenate([p.local_batch(5)["x"] for p in parts]), w)
  # Every start is reachable: over many steps the windows touch both ends.
  seen = np.concatenate([a.local_batch(s)["x"].ravel() for s in range(400)])
  assert seen.min() == 0 and seen.max() == 999


@pytest.mark.parametrize("n,t,b", [(100, 16, 3), (96, 16, 2), (17, 16, 4), (5, 5, 1)])
def test_eval_windows_score_every_position_exactly_once(n, t, b):
  stream = {"x": np.arange(n, dtype=np.int32), "cond": np.arange(n) * 10}
  scored = []
  for rows in ((0, b),) + (((0, 1), (1, b)) if b > 1 else ()):
    batches = pipeline.EvalBatches(stream, batch_size=b, seq_len=t, rows=rows)
    for _, batch, mask in batches:
      assert batch["x"].shape == mask.shape == (rows[1] - rows[0], t)
      np.testing.assert_array_equal(batch["cond"][mask], 10 * batch["x"][mask])
      scored.append(batch["x"][mask])
  # One full pass (rows (0, b)) plus one pass split over two "processes".
  counts = np.bincount(np.concatenate(scored), minlength=n)
  np.testing.assert_array_equal(counts, 2 if b > 1 else 1)

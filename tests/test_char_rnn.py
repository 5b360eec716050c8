"""char_rnn beyond the conformance suite: a stacked LSTM's cache with a prompt,
dropout only in training, and `ar-jax sample --prompt` on a tiny trained run.

The conformance suite (tests/test_conformance.py) already checks every cell
for causality, normalization, sampler frequencies and cached == naive.
"""

import json
import os

import jax
import numpy as np
import pytest

import ar_jax
from ar_jax import configs
from ar_jax import data
from ar_jax import models
from ar_jax import sampling
from ar_jax import train

import testlib
import text_testlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _stacked_lstm(dropout=0.0):
  model = models.get("char_rnn", input_shape=(6,), num_classes=7, cell="lstm",
                     num_layers=2, hidden_size=8, embed_size=4, dropout=dropout)
  return model, testlib.perturbed(model, seed=1, scale=0.3)


def test_cached_equals_naive_with_a_prompt_on_a_stacked_lstm():
  model, variables = _stacked_lstm(dropout=0.5)  # dropout never acts in sampling
  prompt = np.array([3, 1], np.int32)
  x_init, known = sampling.prompt_inputs(prompt, 32, model.input_shape)
  key = jax.random.key(4)
  fast = ar_jax.sample(model, variables, key, 32, x_init=x_init, known=known)
  slow = ar_jax.sample(model, variables, key, 32, x_init=x_init, known=known,
                       use_cache=False)
  np.testing.assert_array_equal(np.asarray(fast), np.asarray(slow))
  np.testing.assert_array_equal(np.asarray(fast)[:, :2], np.tile(prompt, (32, 1)))
  assert len(np.unique(np.asarray(fast)[:, 2:], axis=0)) > 1  # really sampled
  with pytest.raises(ValueError, match="more than the 6"):
    sampling.prompt_inputs(np.zeros(7, np.int32), 1, model.input_shape)


def test_dropout_acts_only_in_training_and_follows_the_key():
  model, variables = _stacked_lstm(dropout=0.5)
  x = testlib.example_input(model, 3)
  both = jax.jit(lambda m, v, k: (m.apply(v, x, k, method="train_log_prob"),
                                  m.apply(v, x, method="log_prob")), static_argnums=0)
  t0, lp = map(np.asarray, both(model, variables, jax.random.key(0)))
  t1, _ = map(np.asarray, both(model, variables, jax.random.key(1)))
  np.testing.assert_array_equal(t0, np.asarray(both(model, variables, jax.random.key(0))[0]))
  assert not np.allclose(t0, t1) and not np.allclose(t0, lp)
  plain = model.clone(dropout=0.0)
  t_plain, lp_plain = both(plain, variables, jax.random.key(0))
  np.testing.assert_allclose(np.asarray(t_plain), np.asarray(lp_plain), rtol=1e-6)
  np.testing.assert_allclose(np.asarray(lp_plain), lp, rtol=1e-6)  # eval never drops


def test_bad_hyperparameters_are_named():
  x = np.zeros((1, 4), np.int32)
  with pytest.raises(ValueError, match=r"cell must be one of \['gru', 'lstm', 'rnn'\], got 'lsmt'"):
    models.get("char_rnn", input_shape=(4,), cell="lsmt").init(jax.random.key(0), x)
  with pytest.raises(ValueError, match=r"input_shape must be \(T,\)"):
    models.get("char_rnn", input_shape=(2, 2)).init(jax.random.key(0), x.reshape(1, 2, 2))


def _tiny_text_config(data_dir):
  c = configs.load(os.path.join(ROOT, "experiments/configs/char_lstm_shakespeare.py"), "cpu")
  c.data.data_dir = data_dir
  c.data.seq_len = 16
  c.model.hparams.update(num_layers=1, hidden_size=8, embed_size=4)
  c.train.update(batch_size=4, num_steps=2, log_every_steps=1, checkpoint_every_steps=2)
  c.optim.warmup_steps = 0
  c.eval.update(every_steps=2, batch_size=8)
  return c


def _cli(*args):
  from ar_jax import cli  # pylint: disable=import-outside-toplevel
  with pytest.raises(SystemExit) as e:
    cli.main(["ar-jax", "sample", *args])
  return e.value.code


def test_cli_samples_text_from_a_prompt(tmp_path, monkeypatch, capsys):
  data_dir, _ = text_testlib.standin_data_dir(tmp_path, monkeypatch)
  data.prepare("shakespeare_char", data_dir=data_dir)
  c = _tiny_text_config(data_dir)
  workdir = str(tmp_path / "run")
  res = train.train_and_evaluate(c, workdir)
  test_tokens = data.load_split("shakespeare_char", "test", data_dir=data_dir)["tokens"]
  assert res["test_tokens"] == len(test_tokens) and np.isfinite(res["test_bpd"])
  capsys.readouterr()

  # --length above data.seq_len: char_rnn's params do not depend on T.
  assert _cli(f"--workdir={workdir}", "--prompt=SPEAKER A:", "--length=40",
              "--num_samples=2", "--which=latest") in (0, None)
  texts = capsys.readouterr().out.strip().split("\n\n----\n\n")
  assert len(texts) == 2 and all(len(t) == 40 for t in texts)
  assert all(t.startswith("SPEAKER A:") for t in texts)

  assert _cli(f"--workdir={workdir}", "--prompt=ZZ top") == 2  # EXIT_USER_ERROR
  assert "['Z', 't'] are not in the vocabulary" in capsys.readouterr().err

  # A prompt for a run on images is refused before any checkpoint is read.
  config = json.load(open(os.path.join(workdir, "config.json")))
  config["data"].update(name="synthetic", seq_len=0, binarization="fixed")
  config["model"].update(name="fvsbn", hparams={})
  image_run = tmp_path / "image_run"
  image_run.mkdir()
  (image_run / "config.json").write_text(json.dumps(config))
  assert _cli(f"--workdir={image_run}", "--prompt=ROMEO:") == 2
  assert "'synthetic' is not a text dataset" in capsys.readouterr().err

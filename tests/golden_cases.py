"""The cases `tests/test_bitwise_unchanged.py` pins: each conformance case plus
conditional variants, with the params, outputs and samples they produce."""

import hashlib
import platform

import jax
import numpy as np

import ar_jax
from ar_jax import models
from ar_jax import sampling

import testlib  # example_input

# The conformance cases as they stood when recorded (frozen here: later
# changes to the conformance variants must not change what is pinned), plus
# conditional models.
_CASES = [
    ('char_rnn-v0', 'char_rnn', {'input_shape': (5,), 'cell': 'lstm', 'hidden_size': 8, 'embed_size': 4, 'num_layers': 1}),
    ('char_rnn-v0-K3', 'char_rnn', {'input_shape': (5,), 'cell': 'lstm', 'hidden_size': 8, 'embed_size': 4, 'num_layers': 1, 'num_classes': 3}),
    ('char_rnn-v1', 'char_rnn', {'input_shape': (5,), 'cell': 'gru', 'hidden_size': 8, 'embed_size': 4, 'num_layers': 2}),
    ('char_rnn-v2', 'char_rnn', {'input_shape': (5,), 'cell': 'rnn', 'hidden_size': 8, 'embed_size': 3, 'num_layers': 1}),
    ('deepnade-v0', 'deepnade', {'input_shape': (5,), 'hidden_sizes': (8, 8), 'ordering': 'random', 'seed': 3}),
    ('deepnade-v0-K3', 'deepnade', {'input_shape': (5,), 'hidden_sizes': (8, 8), 'ordering': 'random', 'seed': 3, 'num_classes': 3}),
    ('deepnade-v1', 'deepnade', {'input_shape': (5,), 'hidden_sizes': (8,), 'num_orderings': 3}),
    ('fvsbn-v0', 'fvsbn', {'input_shape': (5,)}),
    ('fvsbn-v0-K3', 'fvsbn', {'input_shape': (5,), 'num_classes': 3}),
    ('fvsbn-v1', 'fvsbn', {'input_shape': (5,), 'ordering': 'random', 'seed': 3}),
    ('gated_pixelcnn-v0', 'gated_pixelcnn', {'input_shape': (3, 3, 1), 'num_layers': 1, 'channels': 4, 'head_channels': 4}),
    ('gated_pixelcnn-v0-K3', 'gated_pixelcnn', {'input_shape': (3, 3, 1), 'num_layers': 1, 'channels': 4, 'head_channels': 4, 'num_classes': 3}),
    ('gated_pixelcnn-v1', 'gated_pixelcnn', {'input_shape': (2, 2, 3), 'num_layers': 1, 'channels': 12, 'head_channels': 12}),
    ('made-v0', 'made', {'input_shape': (5,), 'hidden_sizes': (24, 24), 'direct': True}),
    ('made-v0-K3', 'made', {'input_shape': (5,), 'hidden_sizes': (24, 24), 'direct': True, 'num_classes': 3}),
    ('made-v1', 'made', {'input_shape': (5,), 'hidden_sizes': (24,), 'num_masks': 3, 'order_agnostic': True, 'connectivity_agnostic': True}),
    ('nade-v0', 'nade', {'input_shape': (5,), 'hidden_size': 8}),
    ('nade-v0-K3', 'nade', {'input_shape': (5,), 'hidden_size': 8, 'num_classes': 3}),
    ('nade-v1', 'nade', {'input_shape': (5,), 'hidden_size': 8, 'ordering': 'random', 'seed': 3}),
    ('pixelcnn-v0', 'pixelcnn', {'input_shape': (3, 3, 1), 'num_blocks': 1, 'residual_channels': 4, 'head_channels': 4}),
    ('pixelcnn-v0-K3', 'pixelcnn', {'input_shape': (3, 3, 1), 'num_blocks': 1, 'residual_channels': 4, 'head_channels': 4, 'num_classes': 3}),
    ('pixelcnn-v1', 'pixelcnn', {'input_shape': (2, 2, 3), 'num_blocks': 1, 'residual_channels': 6, 'head_channels': 6}),
    ('pixelcnn_pp-v0', 'pixelcnn_pp', {'input_shape': (3, 3, 1), 'num_classes': 2, 'num_filters': 4, 'num_resnet': 1, 'num_levels': 2, 'num_mixtures': 2}),
    ('pixelcnn_pp-v0-K3', 'pixelcnn_pp', {'input_shape': (3, 3, 1), 'num_classes': 3, 'num_filters': 4, 'num_resnet': 1, 'num_levels': 2, 'num_mixtures': 2}),
    ('pixelcnn_pp-v1', 'pixelcnn_pp', {'input_shape': (2, 2, 3), 'num_classes': 2, 'num_filters': 4, 'num_resnet': 1, 'num_levels': 2, 'num_mixtures': 2}),
    ('rnade-v0', 'rnade', {'input_shape': (5,), 'hidden_size': 8, 'num_components': 3}),
    ('rnade-v1', 'rnade', {'input_shape': (5,), 'hidden_size': 8, 'num_components': 3, 'ordering': 'reversed'}),
    ('transformer-v0', 'transformer', {'input_shape': (5,), 'num_layers': 1, 'num_heads': 2, 'width': 8}),
    ('transformer-v0-K3', 'transformer', {'input_shape': (5,), 'num_layers': 1, 'num_heads': 2, 'width': 8, 'num_classes': 3}),
    ('transformer-v1', 'transformer', {'input_shape': (2, 3, 1), 'num_layers': 2, 'num_heads': 2, 'width': 8, 'positions': 'sinusoidal', 'tie_weights': False, 'use_bias': True, 'dropout': 0.1}),
    ('wavenet-v0', 'wavenet', {'input_shape': (5,), 'num_classes': 4, 'num_stacks': 2, 'layers_per_stack': 2, 'residual_channels': 4, 'gate_channels': 4, 'skip_channels': 6}),
    ('wavenet-v0-K3', 'wavenet', {'input_shape': (5,), 'num_classes': 3, 'num_stacks': 2, 'layers_per_stack': 2, 'residual_channels': 4, 'gate_channels': 4, 'skip_channels': 6}),
    ('wavenet-v1', 'wavenet', {'input_shape': (5,), 'num_classes': 4, 'output': 'logistic', 'num_mixtures': 2, 'num_stacks': 1, 'layers_per_stack': 2, 'kernel_size': 3, 'input_kernel_size': 3, 'residual_channels': 4, 'gate_channels': 4, 'skip_channels': 6}),
    ("made-cond-classes", "made", {"input_shape": (5,), "hidden_sizes": (24,), "cond_classes": 3}),
    ("made-cond-size", "made", {"input_shape": (5,), "hidden_sizes": (24,), "cond_size": 2}),
    ("gated_pixelcnn-cond-classes", "gated_pixelcnn", {"input_shape": (3, 3, 1), "num_layers": 1,
     "channels": 4, "head_channels": 4, "cond_classes": 3}),
    ("made-default", "made", {"input_shape": (5,)}),
    ("pixelcnn-default", "pixelcnn", {"input_shape": (3, 3, 1)}),
]


def cases():
  """(case id, model name, hparams) for every pinned case."""
  return list(_CASES)


def _cond(model, n):
  if getattr(model, "cond_classes", 0):
    return np.arange(n, dtype=np.int32) % model.cond_classes
  if getattr(model, "cond_size", 0):
    return np.linspace(-1, 1, n * model.cond_size, dtype=np.float32).reshape(n, -1)
  return None


def compute(name, hp):
  """Params (sha256 and moments), outputs, log_prob and samples (naive, cached).."""
  model = models.get(name, **hp)
  x = testlib.example_input(model, 3, seed=1)
  cond = _cond(model, 3)
  kw = {} if cond is None else {"cond": cond}
  variables = model.init(jax.random.key(0), x, **kw)
  flat = np.concatenate([np.asarray(l, np.float32).ravel()
                         for l in jax.tree_util.tree_leaves(variables)])
  result = {
      "params_sha256": np.array(hashlib.sha256(flat.tobytes()).hexdigest()),
      "params_moments": np.array([flat.size, flat.astype(np.float64).sum(),
                                  np.square(flat.astype(np.float64)).sum()]),
      "outputs": np.asarray(model.apply(variables, x, **kw), np.float32),
      "log_prob": np.asarray(model.apply(variables, x, method="log_prob", **kw), np.float32),
      "samples_naive": np.asarray(ar_jax.sample(
          model, variables, jax.random.key(7), 3, use_cache=False, **kw)),
  }
  if sampling.has_cache(model):
    result["samples_cached"] = np.asarray(ar_jax.sample(
        model, variables, jax.random.key(7), 3, use_cache=True, **kw))
  return result


def machine_signature():
  """A string naming the JAX version and CPU, for the bitwise-or-close rule."""
  flags = ""
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("flags"):
          flags = hashlib.sha256(line.encode()).hexdigest()[:12]
          break
  except OSError:
    pass
  return f"jax {jax.__version__} {platform.machine()} cpuflags {flags}"

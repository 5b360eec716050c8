"""Device mesh and shardings for data-parallel training: jit + NamedSharding.

One mesh axis, 'data', over every device of every process. Batches are split
along their batch axis (`P('data')`), and the mean over the global batch
inside the jitted step *is* the all-reduce. The train state is replicated
(`P()`) by default; with `train.param_sharding="fsdp"` every state leaf of at
least `train.fsdp_min_size` elements is split over the same 'data' axis along
its largest evenly divisible dimension (`fsdp_spec`), so each device holds
1/N of it (ZeRO-3 / FSDP style: XLA gathers a weight where a computation
needs it whole and reduce-scatters its gradient). The rule depends only on a
leaf's shape, so an optimizer moment or EMA copy of a parameter is sharded
exactly like the parameter. No `jax.pmap` (maintenance mode since JAX 0.8).

The mesh axis type is `Auto`, not `jax.make_mesh`'s default `Explicit`: models
are written without sharding annotations, and in Auto mode XLA propagates the
batch sharding through them (Explicit mode would make every model op that mixes
a sharded batch with a replicated array an error).
"""

import math
import os

import jax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
import numpy as np

DATA_AXIS = "data"


def maybe_initialize_distributed(coordinator_address=None, num_processes=None,
                                 process_id=None):
  """Calls `jax.distributed.initialize` for a multi-process launch.

  With explicit flags they are passed through; with none, JAX's own cluster
  auto-detection runs only when the environment shows several processes
  (`_cluster_env`), so a plain single-process run never waits for a
  coordinator. Returns True if initialized.
  """
  given = [v is not None for v in (coordinator_address, num_processes, process_id)]
  if any(given) and not all(given):
    raise ValueError(
        "multi-process launch needs all of --coordinator_address, "
        f"--num_processes and --process_id; got coordinator_address="
        f"{coordinator_address!r}, num_processes={num_processes!r}, "
        f"process_id={process_id!r}")
  if all(given):
    if num_processes == 1:
      return False
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)
    return True
  if _cluster_env():
    jax.distributed.initialize()
    return True
  return False


def _cluster_env():
  """True if env vars of a multi-process launch are set (JAX, TPU pod, SLURM, MPI)."""
  env = os.environ
  if env.get("JAX_COORDINATOR_ADDRESS"):
    return True
  if "," in env.get("TPU_WORKER_HOSTNAMES", ""):  # Multi-host TPU slice.
    return True
  return any(int(env.get(k) or 1) > 1 for k in ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE"))


def make_mesh(devices=None):
  """A 1-D ('data',) mesh over `devices` (default: all devices, all processes)."""
  devices = jax.devices() if devices is None else list(devices)
  return jax.make_mesh((len(devices),), (DATA_AXIS,), devices=devices,
                       axis_types=(jax.sharding.AxisType.Auto,))


def replicated(mesh):
  return NamedSharding(mesh, P())


def batch_sharding(mesh, batch_axis=0):
  """Shards axis `batch_axis` over 'data' (leading axes, e.g. micro-steps, are not)."""
  return NamedSharding(mesh, P(*([None] * batch_axis), DATA_AXIS))


def fsdp_spec(shape, num_shards, min_size):
  """The PartitionSpec of a leaf under FSDP: 'data' on its largest divisible axis.

  Leaves of fewer than `min_size` elements, and leaves with no axis divisible
  by `num_shards`, stay replicated (`P()`). Ties go to the first such axis.
  """
  if num_shards <= 1 or math.prod(shape) < min_size:
    return P()
  for axis in sorted(range(len(shape)), key=lambda i: (-shape[i], i)):
    if shape[axis] % num_shards == 0:
      return P(*([None] * axis), DATA_AXIS)
  return P()


def fsdp_sharding(tree, mesh, min_size):
  """`NamedSharding`s of `fsdp_spec` for every leaf (array or ShapeDtypeStruct) of `tree`."""
  n = mesh.shape[DATA_AXIS]
  return jax.tree.map(lambda a: NamedSharding(mesh, fsdp_spec(a.shape, n, min_size)), tree)


def check_batch_size(batch_size, mesh, name):
  """Raises unless the global batch splits evenly over devices and processes."""
  n = mesh.devices.size
  if not isinstance(batch_size, int) or batch_size < 1:
    raise ValueError(f"config.{name} must be a positive int, got {batch_size!r}")
  if batch_size % n:
    raise ValueError(
        f"config.{name}={batch_size} must be divisible by the number of devices "
        f"({n}: {jax.process_count()} process(es) x {jax.local_device_count()} "
        f"local device(s)); the batch is split evenly over the 'data' mesh axis. "
        f"Use a multiple of {n}, e.g. {math.ceil(batch_size / n) * n}.")


def process_rows(sharding, global_shape, batch_axis=0):
  """(start, stop): the rows of the global batch this process must supply.

  `jax.make_array_from_process_local_data` takes the rows held by this process's
  devices, in index order; they are contiguous for a 1-D data mesh. Asking the
  sharding (rather than assuming process p holds block p) keeps the global
  batch identical to a single-process run whatever the device order.
  """
  slices = sharding.addressable_devices_indices_map(tuple(global_shape)).values()
  bounds = sorted({(s[batch_axis].start or 0,
                    global_shape[batch_axis] if s[batch_axis].stop is None
                    else s[batch_axis].stop) for s in slices})
  start, stop = bounds[0][0], bounds[-1][1]
  if sum(b - a for a, b in bounds) != stop - start:
    raise ValueError(f"this process's batch rows are not contiguous: {bounds}")
  return start, stop


def to_global(local_x, sharding, global_shape):
  """Assembles per-process rows into one global jax.Array (multi-host safe)."""
  return jax.make_array_from_process_local_data(
      sharding, np.asarray(local_x), tuple(global_shape))


def to_host(x):
  """A global array (or pytree) as numpy, in full, on every process."""

  def get(a):
    if isinstance(a, jax.Array) and not (a.is_fully_addressable or a.is_fully_replicated):
      from jax.experimental import multihost_utils  # pylint: disable=import-outside-toplevel
      return np.asarray(multihost_utils.process_allgather(a, tiled=True))
    return np.asarray(jax.device_get(a))

  return jax.tree.map(get, x)

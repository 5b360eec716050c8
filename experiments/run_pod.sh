#!/usr/bin/env bash
# Launches one training config on machines that already exist; creates nothing.
#
#   experiments/run_pod.sh tpu --name NAME --zone ZONE --config CONFIG \
#       --workdir gs://BUCKET/runs/RUN [--repo DIR] [--venv DIR] [--dry_run] [-- FLAGS...]
#   experiments/run_pod.sh gpu --config CONFIG --workdir DIR [--gpus 0,1,...] \
#       [--dry_run] [-- FLAGS...]
#
# tpu: runs `python -m ar_jax.main` on every worker of an existing TPU VM slice
#   at once (`gcloud compute tpus tpu-vm ssh NAME --zone ZONE --worker=all`),
#   in the checkout --repo (default: ar_jax, relative to each worker's home)
#   with the virtualenv --venv (default: ~/venv). Every worker writes the same
#   checkpoints, so --workdir must be a bucket path (gs://...); JAX finds the
#   other workers from the TPU metadata.
# gpu: one process on this host, in the current environment, using all its
#   GPUs (or those of --gpus); the batch is sharded over them. --workdir may
#   be local or a bucket path.
# FLAGS after `--` go to ar_jax.main unchanged (e.g.
# --config.train.param_sharding=fsdp). --dry_run prints the command instead
# of running it. The exit code is ar_jax.main's (75: preempted, run it again).
set -euo pipefail

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
die() { echo "run_pod.sh: $*" >&2; exit 2; }
# A word as a shell reads it back: as is if plain, else in single quotes.
quote() { if [[ $1 =~ ^[A-Za-z0-9_./=:,@%+~-]+$ ]]; then printf '%s' "$1"; else printf '%s' "${1@Q}"; fi; }
join_quoted() { local out="" w; for w in "$@"; do out+="$(quote "$w") "; done; printf '%s' "${out% }"; }

[ $# -ge 1 ] || usage
mode=$1; shift
case "$mode" in tpu|gpu) ;; -h|--help) usage ;; *) die "unknown mode '$mode'; use 'tpu' or 'gpu'" ;; esac

name="" zone="" config="" workdir="" repo="ar_jax" venv="~/venv" gpus="" dry_run=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --zone) zone=${2:?--zone needs a value}; shift 2 ;;
    --config) config=${2:?--config needs a value}; shift 2 ;;
    --workdir) workdir=${2:?--workdir needs a value}; shift 2 ;;
    --repo) repo=${2:?--repo needs a value}; shift 2 ;;
    --venv) venv=${2:?--venv needs a value}; shift 2 ;;
    --gpus) gpus=${2:?--gpus needs a value}; shift 2 ;;
    --dry_run) dry_run=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option '$1' (ar_jax.main flags go after '--')" ;;
  esac
done

[ -n "$config" ] || die "missing --config (e.g. --config experiments/configs/made_mnist.py)"
[ -n "$workdir" ] || die "missing --workdir"

train=(python -m ar_jax.main "--config=$config" "--workdir=$workdir" ${extra[@]+"${extra[@]}"})

if [ "$mode" = tpu ]; then
  [ -n "$name" ] || die "tpu: missing --name (the existing TPU VM or slice)"
  [ -n "$zone" ] || die "tpu: missing --zone"
  case "$workdir" in
    gs://*) ;;
    *) die "tpu: --workdir=$workdir is not a bucket path; every worker writes the same
  checkpoints, so use gs://BUCKET/runs/NAME" ;;
  esac
  remote="cd $repo && . $venv/bin/activate && $(join_quoted "${train[@]}")"
  cmd=(gcloud compute tpus tpu-vm ssh "$name" --zone "$zone" --worker=all --command "$remote")
else
  [ -z "$name$zone" ] || die "gpu: --name and --zone are for the tpu mode"
  cmd=("${train[@]}")
  if [ -n "$gpus" ]; then cmd=(env "CUDA_VISIBLE_DEVICES=$gpus" "${cmd[@]}"); fi
fi

if [ "$dry_run" = 1 ]; then
  join_quoted "${cmd[@]}"; echo
  exit 0
fi
exec "${cmd[@]}"

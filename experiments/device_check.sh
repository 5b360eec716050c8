#!/usr/bin/env bash
# Accelerator check: runs experiments/device_check.py on the device JAX sees and writes
# <out>/device_check.json. Usage: experiments/device_check.sh [OUT_DIR] [--smoke] [...]
# (DEVICE_CHECK_SMOKE=1 is the same as --smoke). Prepared data in ./data_cache is used.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/device_check}"
shift || true
extra=()
if [[ "${DEVICE_CHECK_SMOKE:-0}" == "1" ]]; then extra+=(--smoke); fi
if [[ -d data_cache && -z "${AR_JAX_DATA_DIR:-}" ]]; then export AR_JAX_DATA_DIR="$PWD/data_cache"; fi
exec python experiments/device_check.py --out "$out" "${extra[@]}" "$@"

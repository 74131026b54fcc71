#!/usr/bin/env bash
# Runs a toolchain stage: `training/run.sh all`, `training/run.sh target`, ...
#
# Training stages run on the newer torch of training/.venv when it exists (bash
# scripts/install-training-deps.sh makes it; 1.6x faster per target step here than Debian's 1.13),
# export stages always on Debian's torch 1.13, whose TorchScript ONNX exporter the graphs and their
# parity cases are pinned to. Without the venv everything runs on Debian's Python.
set -euo pipefail
# Paths on the command line (--run, --from-bundle) are the caller's: no cd.
here=$(cd "$(dirname "$0")" && pwd)
# OpenBLAS misdetects some virtual CPUs as "Prescott" (SSE3 only) and runs matmuls ~7x slower.
# Name the core it should use when the CPU has the instructions and nobody chose already.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -q -m1 -w avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -q -m1 -w avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export_python=/usr/bin/python3
train_python=${MSD_TRAIN_PYTHON:-}
if [ -z "$train_python" ]; then
  if [ -x "$here/.venv/bin/python" ]; then train_python=$here/.venv/bin/python; else train_python=$export_python; fi
fi

python_for() {
  case "$1" in
    export-target | bundle | export-transformersjs | target-from-bundle | ablation-bundle | reexport-drafts) echo "$export_python" ;;
    *) echo "$train_python" ;;
  esac
}

if [ "${1:-}" = all ]; then
  shift
  for stage in $("$export_python" -c 'from msd_training.__main__ import STAGES; print(" ".join(STAGES))'); do
    "$(python_for "$stage")" -m msd_training "$stage" "$@"
  done
  exit 0
fi
if [ $# -eq 0 ] || [[ "${1:-}" == -* ]]; then exec "$export_python" -m msd_training "$@"; fi
exec "$(python_for "$1")" -m msd_training "$@"

#!/usr/bin/env bash
# Runs a toolchain stage on Debian's Python: `training/run.sh all`, `training/run.sh target`, ...
set -euo pipefail
cd "$(dirname "$0")"
# OpenBLAS misdetects some virtual CPUs as "Prescott" (SSE3 only) and runs matmuls ~7x slower.
# Name the core it should use when the CPU has the instructions and nobody chose already.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -q -m1 -w avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -q -m1 -w avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec /usr/bin/python3 -m msd_training "$@"

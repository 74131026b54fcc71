#!/usr/bin/env bash
# The training toolchain's faster torch: a venv at training/.venv with torch 2.x from the machine's
# package index (pip config; no internet needed). Optional: training/run.sh falls back to Debian's
# torch 1.13 without it, and CI's tests use Debian's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/training/.venv
if [ ! -x "$venv/bin/python" ]; then /usr/bin/python3 -m venv "$venv"; fi
"$venv/bin/pip" install --quiet torch numpy pillow sentencepiece
"$venv/bin/python" -c 'import torch; print("training/.venv: torch", torch.__version__)'

#!/usr/bin/env bash
# The training toolchain's faster torch: a venv at training/.venv with torch 2.x from the machine's
# package index (pip config; no internet needed). Optional for training: training/run.sh falls back
# to Debian's torch 1.13 without it, and the Python unit tests use Debian's.
#
#   bash scripts/install-training-deps.sh              torch, numpy, Pillow, sentencepiece
#   bash scripts/install-training-deps.sh --reference  also transformers, tokenizers, safetensors:
#                                                       the conformance suite's reference side
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/training/.venv
packages=(torch numpy pillow sentencepiece)
if [ "${1:-}" = --reference ]; then packages+=("transformers>=5.17,<6" "tokenizers>=0.23,<0.24" safetensors); fi
if [ ! -x "$venv/bin/python" ]; then /usr/bin/python3 -m venv "$venv"; fi
# The package index is local (pip config's extra index); asking pypi.org first only waits for timeouts
# on a machine without internet.
index_options=()
if [ -d /opt/pypi/simple ]; then index_options=(--index-url file:///opt/pypi/simple); fi
if [ -d /opt/pypi-more/simple ]; then index_options+=(--extra-index-url file:///opt/pypi-more/simple); fi
"$venv/bin/pip" install --quiet "${index_options[@]}" "${packages[@]}"
"$venv/bin/python" -c '
import importlib, sys
names = ["torch"] + (["transformers", "tokenizers", "PIL", "safetensors"] if "--reference" in sys.argv else [])
print("training/.venv:", ", ".join(f"{n} {importlib.import_module(n).__version__}" for n in names))
' "$@"

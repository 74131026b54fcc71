#!/usr/bin/env bash
# The Python toolchain's tests, on Debian's interpreter (it has torch, onnx, sentencepiece).
set -euo pipefail
cd "$(dirname "$0")/../training"
/usr/bin/python3 -m pytest -q tests

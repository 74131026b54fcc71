#!/usr/bin/env bash
# First step of `pnpm test`: say what is missing, and the one command that installs it, before any
# test fails for a reason that has nothing to do with the code.
set -euo pipefail
missing=()
/usr/bin/python3 -c 'import torch, onnx, numpy, PIL, sentencepiece, pytest' 2>/dev/null || missing+=("Python toolchain (python3-torch, python3-onnx, python3-pil, python3-sentencepiece, python3-pytest)")
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ] || [ "$(uname)" != Linux ] ||
  missing+=("Vulkan loader and Mesa's drivers for the WebGPU tests (libvulkan1, mesa-vulkan-drivers from bookworm-backports)")
# The page of msd serve is tested in the Debian package's Chromium (playwright-core downloads no browser).
[ -x /usr/bin/chromium ] || missing+=("Chromium for the msd serve page test (chromium, fonts-dejavu-core; bash scripts/install-system-deps.sh)")
[ -d node_modules ] || missing+=("the workspace's node modules")
if [ ${#missing[@]} -gt 0 ]; then
  echo "[msd] pnpm test needs what the first command installs; missing:" >&2
  for item in "${missing[@]}"; do echo "  - $item" >&2; done
  echo "[msd] run: bash scripts/quickstart.sh   (or bash .ci/run, which installs everything and runs the tests)" >&2
  exit 1
fi

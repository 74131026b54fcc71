#!/usr/bin/env bash
# One command on a fresh machine: install what msd needs, then run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything `pnpm test` needs too, so the README's second command passes by itself: the Debian
# packages (Python toolchain, Vulkan for the WebGPU tests; apt, with sudo when not root), node modules, ruff.
bash scripts/install-system-deps.sh
bash scripts/install-node-deps.sh
bash scripts/install-lint-deps.sh
pnpm start

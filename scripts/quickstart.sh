#!/usr/bin/env bash
# One command on a fresh machine: install what msd needs, then run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-node-deps.sh
pnpm start

#!/usr/bin/env bash
# pnpm and the workspace. onnxruntime-node's CUDA download is skipped (.npmrc), and
# pnpm only runs the build scripts listed in package.json's onlyBuiltDependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  echo "[msd] installing pnpm 10 (corepack's signature check fails offline)"
  npm install -g pnpm@10 >/dev/null
fi
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile

#!/usr/bin/env bash
# ruff (Python lint and format for training/) into .venv-lint/, at the pinned version. Idempotent and quick
# when it is already there. Biome, the TypeScript side, is a devDependency (scripts/install-node-deps.sh).
# Needs python3-venv (scripts/install-system-deps.sh) and pip's index (pip config list shows it).
set -euo pipefail
cd "$(dirname "$0")/.."
RUFF_VERSION=0.16.9
venv=.venv-lint
if [ -x "$venv/bin/ruff" ] && [ "$("$venv/bin/ruff" --version 2>/dev/null)" = "ruff $RUFF_VERSION" ]; then
  exit 0
fi
echo "[msd] installing ruff $RUFF_VERSION into $venv/"
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ruff==$RUFF_VERSION"
"$venv/bin/ruff" --version

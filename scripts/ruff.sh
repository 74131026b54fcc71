#!/usr/bin/env bash
# The pinned ruff from .venv-lint/, installed on first use: `bash scripts/ruff.sh check training`.
# Paths are relative to where it is called from; ruff.toml at the root configures it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/install-lint-deps.sh" >&2
exec "$root/.venv-lint/bin/ruff" "$@"

#!/usr/bin/env bash
# `pnpm lint` (and the first step of `pnpm test`): Biome for the TypeScript, ruff for training/. Checks only;
# `pnpm format` writes the formatting (Biome and ruff), `pnpm exec biome check --write <paths>` also applies
# Biome's safe lint fixes, `bash scripts/ruff.sh check --fix training` ruff's.
#
# Biome checks the whole tree (formatting and lint, warnings are errors); biome.json says what it skips.
set -euo pipefail
cd "$(dirname "$0")/.."
biome_enforced=(.)
status=0

echo "[msd] biome check ${biome_enforced[*]}"
pnpm exec biome check --error-on-warnings --no-errors-on-unmatched "${biome_enforced[@]}" || status=1
if [ "${biome_enforced[*]}" != "." ]; then
  echo "[msd] biome check packages examples (not enforced yet, see the top of scripts/lint.sh)"
  pnpm exec biome check --max-diagnostics=0 packages examples 2>&1 | grep -E '^(Checked|Found)' || true
fi

echo "[msd] ruff check training && ruff format --check training"
bash scripts/ruff.sh check training || status=1
bash scripts/ruff.sh format --check training || status=1

if [ $status -ne 0 ]; then
  echo "[msd] lint failed; \`pnpm format\` fixes the formatting"
fi
exit $status

#!/usr/bin/env bash
# `pnpm lint` (and the first step of `pnpm test`): Biome for the TypeScript, ruff for training/. Checks only;
# `pnpm format` writes the formatting (Biome and ruff), `pnpm exec biome check --write <paths>` also applies
# Biome's safe lint fixes, `bash scripts/ruff.sh check --fix training` ruff's.
#
# NOT YET FULLY ON: packages/ and examples/ are mid-refactor and not Biome-formatted yet, so Biome is enforced
# only on the root config files (biome_enforced below); over packages/ and examples/ it runs, prints its counts
# and does not fail. To switch Biome fully on, after the one `pnpm exec biome check --write packages examples`
# commit (and the remaining lint findings fixed), change this ONE line:
#   biome_enforced=(*.json *.ts .changeset scripts)   ->   biome_enforced=(.)
set -euo pipefail
cd "$(dirname "$0")/.."
biome_enforced=(*.json *.ts .changeset scripts)
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

#!/usr/bin/env bash
# Runs every example under examples/ so that the docs' code cannot rot.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for example in examples/*.ts; do
  echo "[msd] example: $example"
  if ! pnpm exec tsx --conditions=@msd/source "$example" > /tmp/msd-example.log 2>&1; then
    cat /tmp/msd-example.log
    echo "[msd] example failed: $example"
    status=1
  else
    tail -n 5 /tmp/msd-example.log
  fi
done
exit $status

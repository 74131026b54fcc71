#!/usr/bin/env bash
# The transformers conformance suite (docs/real-checkpoints.md): random llava-hf checkpoints built
# with transformers' own classes, exported with msd's exporter, and compared with msd's defaults.
#
#   bash scripts/conformance.sh [OUT_DIR]     (default: a fresh temporary directory)
#
# 1. the reference environment: training/.venv with torch, transformers, tokenizers, Pillow and
#    safetensors from the machine's package index (offline); if it cannot be built the suite fails;
# 2. the reference side (training/msd_training/conformance.py, in that environment);
# 3. msd's exporter on Debian's Python (the toolchain's export path);
# 4. packages/msd/conformance/ through vitest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d /tmp/msd-conformance.XXXX)}
mkdir -p "$out"
venv=$root/training/.venv

echo "[conformance] reference environment: $venv" >&2
if ! bash "$root/scripts/install-training-deps.sh" --reference >&2; then
  echo "[conformance] FAILED: could not build the reference environment (transformers from the package index)." >&2
  exit 1
fi

echo "[conformance] building checkpoints and reference outputs in $out" >&2
PYTHONPATH="$root/training" "$venv/bin/python" -m msd_training.conformance --out "$out"

for kind_dir in "$out"/*/; do
  [ -f "$kind_dir/cases.json" ] || continue
  echo "[conformance] exporting $(basename "$kind_dir")" >&2
  rm -rf "$kind_dir/msd"
  (cd "$root/training" && /usr/bin/python3 -m msd_training.export_real --llava "$kind_dir/checkpoint" --draft "$kind_dir/draft" --out "$kind_dir/msd" >&2)
done

# An MSD draft trained for a checkpoint by the toolchain (docs/own-draft.md), end to end on two
# kinds: features from the conversation file, a short two-stage training, export into a copy of the
# exported model as its `msd` draft. own-draft.test.ts then checks it loads and stays lossless.
for kind in clip-llama-hub-fp16 siglip-qwen2; do
  [ -d "$out/$kind/msd" ] || continue
  own=$out/own-draft/$kind
  echo "[conformance] training an MSD draft for $kind" >&2
  rm -rf "$own" && mkdir -p "$own" && cp -r "$out/$kind/msd" "$own/msd"
  PYTHONPATH="$root/training" "$venv/bin/python" -m msd_training.checkpoint_draft all --llava "$out/$kind/checkpoint" \
    --data "$out/images/draft-dataset.json" --work "$own/work" --turns 2 --max-new-tokens 24 --heldout 0.15 --steps 300 --device cpu >&2
  (cd "$root/training" && /usr/bin/python3 -m msd_training.export_real --llava "$out/$kind/checkpoint" --draft "$own/work/draft" --out "$own/msd" --draft-only >&2)
done

echo "[conformance] comparing msd with transformers" >&2
cd "$root"
MSD_CONFORMANCE_DIR="$out" pnpm exec vitest run --config vitest.conformance.config.ts
echo "[conformance] per-case figures: $out/msd-results.json" >&2

#!/usr/bin/env bash
# Train an MSD draft for your own llava-hf checkpoint and export it into an msd model directory.
#
#   training/checkpoint-draft.sh --llava CKPT --data conversations.json --out MODEL_DIR [--work DIR] [options]
#
# 1. features + training (python -m msd_training.checkpoint_draft all, on training/.venv's torch with
#    transformers: bash scripts/install-training-deps.sh --reference); CUDA when PyTorch sees a GPU;
# 2. export with Debian's torch (the exporter the graphs are pinned to): into MODEL_DIR's existing
#    export as its `msd` draft (export_real --draft-only), or the whole model when MODEL_DIR has none.
# Other options go to checkpoint_draft (--image-folder, --steps, --minutes, --batch-size, --answers,
# --turns, --max-new-tokens, --limit, --device, ...) except --fp16 and --draft-top-k (export).
# docs/own-draft.md has the details and time/memory figures for 0.5B and 7B targets.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
llava="" out="" work="" export_options=() train_options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --llava) llava=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --fp16) export_options+=(--fp16); shift ;;
    --draft-top-k) export_options+=(--draft-top-k "$2"); shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) train_options+=("$1"); shift ;;
  esac
done
if [ -z "$llava" ] || [ -z "$out" ]; then
  echo "checkpoint-draft.sh: --llava CKPT and --out MODEL_DIR are required (--help)" >&2
  exit 2
fi
work=${work:-$out.draft-work}
python=${MSD_TRAIN_PYTHON:-$here/.venv/bin/python}
if ! "$python" -c 'import transformers' 2>/dev/null; then
  echo "checkpoint-draft.sh: $python has no transformers; run: bash scripts/install-training-deps.sh --reference" >&2
  exit 1
fi
PYTHONPATH="$here" "$python" -m msd_training.checkpoint_draft all --llava "$llava" --work "$work" "${train_options[@]}"
cd "$here"
if [ -f "$out/manifest.json" ]; then
  /usr/bin/python3 -m msd_training.export_real --llava "$llava" --draft "$work/draft" --out "$out" --draft-only "${export_options[@]}"
else
  /usr/bin/python3 -m msd_training.export_real --llava "$llava" --draft "$work/draft" --out "$out" "${export_options[@]}"
fi
echo "checkpoint-draft.sh: $out has the trained msd draft; agreement in $work/draft/training.json" >&2

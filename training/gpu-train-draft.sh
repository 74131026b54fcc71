#!/usr/bin/env bash
# Records the bundled target's features and trains its MSD draft on a CUDA machine, within a deadline.
#
#   training/gpu-train-draft.sh DATA.tar.xz TARGET.pt OUT_DIR [feature samples] [deadline seconds]
#
# DATA.tar.xz is the run's data and tokenizer (as for gpu-train.sh); TARGET.pt the target's weights
# (`{"config", "model"}`, e.g. training/runs/v5/target.ckpt, fp16 values are enough: the bundle uses
# fp16-rounded weights). Features are recorded with batched self-distillation; the draft then trains
# for whatever is left of the deadline, and OUT_DIR receives draft-msd.pt, the reports and the log.
# Back here: copy draft-msd.pt into the run, then `training/run.sh eval-drafts` / `bundle`.
set -euo pipefail
data=$1 target=$2 out=$3 samples=${4:-30000} deadline=${5:-500}
began=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
run=$(mktemp -d /tmp/msd-gpu-draft.XXXX)
mkdir -p "$out"
export MSD_TRAIN_PYTHON=${MSD_TRAIN_PYTHON:-$(command -v python3)} PYTHONUNBUFFERED=1
"$MSD_TRAIN_PYTHON" -c 'import lzma, sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$data" "$run"
cp "$target" "$run/target.ckpt"
"$here/run.sh" features --run "$run" --device "${MSD_DEVICE:-cuda}" --feature-samples "$samples" --feature-batch 128
left=$((deadline - ($(date +%s) - began) - 45))
minutes=$(awk -v s="$left" 'BEGIN { printf "%.2f", (s < 60 ? 60 : s) / 60 }')
echo "[gpu-train-draft] features done after $(($(date +%s) - began)) s; draft gets $minutes min" >&2
"$here/run.sh" draft --run "$run" --device "${MSD_DEVICE:-cuda}" --draft-minutes "$minutes" --draft-batch 64 --draft-lr 1.5e-3
cp "$run/draft-msd.pt" "$out/"
ls -la "$run" "$out"

#!/usr/bin/env bash
# Trains the vision tower and the target on a CUDA machine, from a data stage made elsewhere.
#
#   training/gpu-train.sh DATA.tar.xz OUT_DIR [vision minutes] [target minutes]
#
# DATA.tar.xz holds a run's data and tokenizer (images-*.npy, labels-*.npz, samples-*.jsonl,
# text-*.jsonl, sp.model, sp.vocab); make it with
#   tar -C training/runs/default -cf - images-train.npy ... sp.vocab | xz -T2 -6 > DATA.tar.xz
# The corpus behind the tokenizer comes from Debian's package lists, which a GPU image may lack,
# so the data stage stays on the machine that made it and the same files train everywhere.
# OUT_DIR receives vision.pt, target weights (no optimizer state) in 15 MB parts, the reports and
# the log; unpack them into the run with training/gpu-unpack.sh and continue from eval-target.
set -euo pipefail
data=$1 out=$2 vision_minutes=${3:-2.5} target_minutes=${4:-4.5}
here=$(cd "$(dirname "$0")" && pwd)
run=$(mktemp -d /tmp/msd-gpu-run.XXXX)
export MSD_TRAIN_PYTHON=${MSD_TRAIN_PYTHON:-$(command -v python3)} PYTHONUNBUFFERED=1
"$MSD_TRAIN_PYTHON" -c 'import lzma, sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$data" "$run"
"$MSD_TRAIN_PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
# MSD_TRAIN_ARGS adds arguments to both stages (--small for a smoke test of this script).
extra=(${MSD_TRAIN_ARGS:-})
"$here/run.sh" vision --run "$run" --vision-object-head --vision-minutes "$vision_minutes" --vision-batch 256 "${extra[@]}"
"$here/run.sh" target --run "$run" --target-minutes "$target_minutes" --target-batch 64 --target-lr 2e-3 "${extra[@]}"
mkdir -p "$out"
"$MSD_TRAIN_PYTHON" - "$run" "$out" <<'PY'
import os, sys, torch
run, out = sys.argv[1:]
state = torch.load(os.path.join(run, "target.ckpt"), map_location="cpu")
weights = {"model": {k: v.cpu() for k, v in state["model"].items()}, "step": state["step"], "steps": state.get("steps"), "config": state["config"]}
torch.save(weights, os.path.join(run, "target-weights.pt"))
PY
tar -C "$run" -cf - vision.pt vision-train.json target-weights.pt target-train.json | split -b 15M - "$out/gpu-run.tar.part-"
ls -la "$out"

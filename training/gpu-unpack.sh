#!/usr/bin/env bash
# Puts what training/gpu-train.sh returned into a run directory: vision.pt, target.ckpt (weights
# only; the optimizer state stays behind) and the reports. Then: training/run.sh eval-target ... bundle.
#
#   training/gpu-unpack.sh PARTS_DIR RUN_DIR
set -euo pipefail
parts=$1 run=$2
mkdir -p "$run"
cat "$parts"/gpu-run.tar.part-* | tar -C "$run" -xf -
mv "$run/target-weights.pt" "$run/target.ckpt"
echo "unpacked into $run: $(cd "$run" && ls vision.pt target.ckpt vision-train.json target-train.json | tr '\n' ' ')"

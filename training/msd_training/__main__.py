"""`python -m msd_training <stage> [--run DIR]` — one command per stage, `all` runs them in order.

Stages: data, tokenizer, vision, target, eval-target, export-target, features, draft, ablations, eval-drafts, bundle.
Not part of `all`: export-transformersjs (the target in transformers.js's LLaVA layout, for benchmarks),
target-from-bundle (a run's target.ckpt rebuilt from a bundled model directory's ONNX graphs),
ablation-bundle (that bundle with the run's drafts beside its own), reexport-drafts (a bundle's drafts
exported again in place with the current graph layout).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

STAGES = ["data", "tokenizer", "vision", "target", "eval-target", "export-target", "features", "draft", "ablations", "eval-drafts", "bundle"]
# Stages run by name only: baselines read from a finished run, and a run started from a bundle.
EXTRA_STAGES = ["export-transformersjs", "target-from-bundle", "ablation-bundle", "reexport-drafts"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m msd_training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=STAGES + EXTRA_STAGES + ["all"])
    parser.add_argument(
        "--run",
        default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runs", "default"),
        help="run directory (default: training/runs/default)",
    )
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--vision-steps", type=int, default=1000, help="steps of vision-tower pretraining")
    parser.add_argument(
        "--vision-object-head",
        action="store_true",
        help="also train the tower to give each object's shape from the mean of its patches (not yet used by the bundled model)",
    )
    parser.add_argument("--vision-minutes", type=float, help="train the tower for this many minutes instead of --vision-steps (for GPU leases)")
    parser.add_argument("--vision-batch", type=int, default=64)
    parser.add_argument("--target-steps", type=int, default=1600)
    parser.add_argument("--target-minutes", type=float, help="train the target for this many minutes instead of --target-steps")
    parser.add_argument("--target-batch", type=int, default=16)
    parser.add_argument("--target-lr", type=float, default=1.5e-3)
    parser.add_argument("--device", default="auto", help="training device: auto (CUDA when PyTorch sees a GPU), cpu or cuda")
    parser.add_argument("--target-extra-steps", type=int, default=0, help="steps of an optional second cosine cycle (warm restart)")
    parser.add_argument("--draft-steps", type=int, default=3000)
    parser.add_argument("--draft-minutes", type=float, help="train each draft for this many minutes instead of --draft-steps")
    parser.add_argument("--draft-batch", type=int, default=16)
    parser.add_argument("--draft-lr", type=float, default=1e-3)
    parser.add_argument("--feature-batch", type=int, default=16, help="prompts the target answers and records at once (features stage)")
    parser.add_argument("--feature-samples", type=int, default=2400, help="training questions whose target features the drafts learn from")
    parser.add_argument(
        "--draft-data",
        choices=["target", "dataset"],
        default="target",
        help="answers the draft learns from: the target's own greedy answers (self-distillation) or the dataset's",
    )
    parser.add_argument(
        "--from-bundle",
        metavar="DIR",
        help="export-transformersjs: convert a bundled model directory (e.g. packages/tiny-llava/model) instead of the run's checkpoint; "
        "target-from-bundle: the bundled model directory to rebuild target.ckpt from; ablation-bundle: the one to add the run's drafts to; "
        "reexport-drafts: the one whose drafts to export again",
    )
    parser.add_argument("--small", action="store_true", help="tiny sizes for tests and smoke runs")
    args = parser.parse_args(argv)
    os.makedirs(args.run, exist_ok=True)
    stages = STAGES if args.stage == "all" else [args.stage]
    for stage in stages:
        began = time.time()
        print(f"[msd_training] stage {stage} -> {args.run}", flush=True)
        module = importlib.import_module("msd_training.stages")
        getattr(module, stage.replace("-", "_"))(args)
        print(f"[msd_training] stage {stage} done in {(time.time() - began) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The stage functions behind `python -m msd_training`; each reads and writes the run directory."""
from __future__ import annotations

import json
import os


def data(args) -> None:
    from . import data as data_module
    if args.small:
        data_module.run(args.run, seed=args.seed, train_single=64, train_pairs=8, heldout_single=16, heldout_pairs=4)
    else:
        data_module.run(args.run, seed=args.seed)


def tokenizer(args) -> None:
    from . import tokenizer_stage
    tokenizer_stage.train(args.run, vocab_size=1000 if args.small else 4000)


def target(args) -> None:
    from . import train_target
    overrides = {"text": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2}, "vision": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}} if args.small else None
    train_target.train(args.run, steps=4 if args.small else args.target_steps, batch_size=4 if args.small else 16, lr=1.5e-3, seed=args.seed, overrides=overrides)

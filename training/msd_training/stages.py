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


def _load_target(args):
    import torch
    from .modeling import LlavaConfig, LlavaForConditionalGeneration
    state = torch.load(os.path.join(args.run, "target.ckpt"))
    model = LlavaForConditionalGeneration(LlavaConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    from .onnx_export import round_to_fp16
    # The bundle stores fp16 weights; everything downstream uses exactly those weights.
    round_to_fp16(model)
    model.eval()
    return model


def eval_target(args) -> None:
    from .evaluate import evaluate_target
    from .train_target import load_encoder
    model = _load_target(args)
    result = evaluate_target(model, load_encoder(args.run, model.config), args.run, limit=40 if args.small else 300)
    with open(os.path.join(args.run, "target-eval.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k not in ("examples", "text_only_samples")}, indent=2))
    for example in result["examples"][:6] + result["text_only_samples"][:4]:
        print(json.dumps(example))


def export_target(args) -> None:
    import numpy as np
    import torch
    from .modeling import causal_mask
    from .onnx_export import export_target as export, store_weights_as_fp16, write_parity_case
    model = _load_target(args)
    out = os.path.join(args.run, "model")
    paths = export(model, out)
    for path in paths.values():
        store_weights_as_fp16(path)
    # Parity cases: PyTorch outputs the ONNX graphs must reproduce within 1e-4.
    rng = np.random.default_rng(args.seed)
    t = model.config.text_config
    v = model.config.vision_config
    cases = os.path.join(args.run, "parity")
    with torch.no_grad():
        pixels = rng.standard_normal((2, 3, v.image_size, v.image_size)).astype(np.float32)
        write_parity_case(cases, "vision_encoder", {"pixel_values": pixels}, {"image_features": model.image_features(torch.from_numpy(pixels)).numpy()})
        ids = rng.integers(0, t.vocab_size, (1, 7)).astype(np.int64)
        write_parity_case(cases, "embed_tokens", {"input_ids": ids}, {"inputs_embeds": model.language_model.model.embed_tokens(torch.from_numpy(ids)).numpy()})
        # Prefill 6 positions, then a 4-node tree (root, two children, one grandchild) on top.
        embeds = rng.standard_normal((1, 6, t.hidden_size)).astype(np.float32) * 0.02
        logits, hidden, presents = model.language_model(torch.from_numpy(embeds), torch.arange(6).view(1, 6), causal_mask(torch.ones(1, 6)))
        tree_embeds = rng.standard_normal((1, 4, t.hidden_size)).astype(np.float32) * 0.02
        allowed = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 0, 1]], dtype=bool)
        tree_mask = np.concatenate([np.zeros((4, 6), np.float32), np.where(allowed, 0.0, np.finfo(np.float32).min).astype(np.float32)], axis=1).reshape(1, 1, 4, 10)
        positions = np.array([[6, 7, 7, 8]], dtype=np.int64)
        feeds = {"inputs_embeds": tree_embeds, "position_ids": positions, "attention_mask": tree_mask}
        for i, (k, val) in enumerate(presents):
            feeds[f"past_key_values.{i}.key"] = k.numpy()
            feeds[f"past_key_values.{i}.value"] = val.numpy()
        logits2, hidden2, presents2 = model.language_model(torch.from_numpy(tree_embeds), torch.from_numpy(positions), torch.from_numpy(tree_mask), presents)
        expected = {"logits": logits2.numpy(), "last_hidden_state": hidden2.numpy()}
        for i, (k, val) in enumerate(presents2):
            expected[f"present.{i}.key"] = k.numpy()
            expected[f"present.{i}.value"] = val.numpy()
        write_parity_case(cases, "decoder_model", feeds, expected)
    print(f"exported {list(paths)} to {out}; parity cases in {cases}")


def features(args) -> None:
    from .features import record
    from .train_target import load_encoder
    model = _load_target(args)
    encoder = load_encoder(args.run, model.config)
    if args.small:
        record(model, encoder, args.run, "train", 24, 24, args.seed, "features-train.npz")
        record(model, encoder, args.run, "heldout", 8, 8, args.seed, "features-heldout.npz")
    else:
        record(model, encoder, args.run, "train", 4000, 3000, args.seed, "features-train.npz")
        record(model, encoder, args.run, "heldout", 300, 300, args.seed, "features-heldout.npz")


DRAFTS = {
    # name: (decoupled, curriculum)
    "msd": (True, "two-stage"),
    "not-decoupled": (False, "two-stage"),
    "multimodal-only": (True, "multimodal-only"),
}


def _train_draft(args, name: str) -> None:
    from .train_draft import train
    decoupled, curriculum = DRAFTS[name]
    model = _load_target(args)
    steps = 6 if args.small else args.draft_steps
    train(model, os.path.join(args.run, "features-train.npz"), os.path.join(args.run, f"draft-{name}.pt"), decoupled=decoupled, curriculum=curriculum, steps=steps, batch_size=4 if args.small else 16, seed=args.seed, label=f"draft:{name}")


def draft(args) -> None:
    _train_draft(args, "msd")


def ablations(args) -> None:
    _train_draft(args, "not-decoupled")
    _train_draft(args, "multimodal-only")


def _load_draft(args, name: str, target):
    import torch
    from .modeling import DraftConfig, MsdDraft, TextConfig
    state = torch.load(os.path.join(args.run, f"draft-{name}.pt"))
    config = DraftConfig(text_config=TextConfig(**state["config"]["text_config"]), decoupled=state["config"]["decoupled"])
    draft = MsdDraft(config)
    draft.load_state_dict(state["model"])
    from .onnx_export import round_to_fp16
    round_to_fp16(draft)
    draft.eval()
    return draft, state


def eval_drafts(args) -> None:
    from .train_draft import FeatureSet, agreement
    target = _load_target(args)
    features = FeatureSet(os.path.join(args.run, "features-heldout.npz"))
    results = {}
    for name in DRAFTS:
        if not os.path.exists(os.path.join(args.run, f"draft-{name}.pt")):
            print(f"[eval-drafts] draft-{name}.pt missing, skipped")
            continue
        draft, state = _load_draft(args, name, target)
        results[name] = {"agreement": agreement(draft, features), "curriculum": state["curriculum"], "decoupled": draft.config.decoupled, "steps": state["steps"], "train_seconds": state["seconds"]}
        print(name, json.dumps(results[name]))
    with open(os.path.join(args.run, "drafts-eval.json"), "w") as f:
        json.dump(results, f, indent=2)

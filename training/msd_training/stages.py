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


def vision(args) -> None:
    from . import train_vision
    from .modeling import VisionConfig

    config = VisionConfig(**TINY_VISION) if args.small else VisionConfig()
    train_vision.train(
        args.run,
        config,
        steps=4 if args.small else args.vision_steps,
        batch_size=4 if args.small else args.vision_batch,
        seed=args.seed,
        object_head=args.vision_object_head,
        device=args.device,
        minutes=args.vision_minutes,
    )


TINY_VISION = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}


def target(args) -> None:
    from . import train_target

    overrides = (
        {
            "text": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2},
            "vision": TINY_VISION,
        }
        if args.small
        else None
    )
    # An optional second cosine cycle (a warm restart resumed from the first's checkpoint).
    cycles = [2, 4] if args.small else [args.target_steps] + ([args.target_steps + args.target_extra_steps] if args.target_extra_steps else [])
    if args.target_minutes is not None:
        cycles = cycles[:1]
    for steps in cycles:
        train_target.train(
            args.run,
            steps=steps,
            batch_size=4 if args.small else args.target_batch,
            lr=args.target_lr,
            seed=args.seed,
            overrides=overrides,
            device=args.device,
            minutes=args.target_minutes,
        )


def _load_target(args):
    import torch

    from .modeling import LlavaConfig, LlavaForConditionalGeneration

    state = torch.load(os.path.join(args.run, "target.ckpt"), map_location="cpu")
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
        tree_mask = np.concatenate([np.zeros((4, 6), np.float32), np.where(allowed, 0.0, np.finfo(np.float32).min).astype(np.float32)], axis=1).reshape(
            1, 1, 4, 10
        )
        positions = np.array([[6, 7, 7, 8]], dtype=np.int64)
        feeds = {"inputs_embeds": tree_embeds, "position_ids": positions, "attention_mask": tree_mask}
        for i, (k, val) in enumerate(presents):
            feeds[f"past_key_values.{i}.key"] = k.numpy()
            feeds[f"past_key_values.{i}.value"] = val.numpy()
        feeds["logits_rows"] = np.arange(4, dtype=np.int64)  # every row: the tree verification's case
        logits2, hidden2, presents2 = model.language_model(torch.from_numpy(tree_embeds), torch.from_numpy(positions), torch.from_numpy(tree_mask), presents)
        expected = {"logits": logits2.numpy(), "last_hidden_state": hidden2.numpy()}
        for i, (k, val) in enumerate(presents2):
            expected[f"present.{i}.key"] = k.numpy()
            expected[f"present.{i}.value"] = val.numpy()
        write_parity_case(cases, "decoder_model", feeds, expected)
    print(f"exported {list(paths)} to {out}; parity cases in {cases}")


def features(args) -> None:
    from .features import record
    from .step_budget import pick_device
    from .train_target import load_encoder

    model = _load_target(args).to(pick_device(args.device))
    encoder = load_encoder(args.run, model.config)
    if args.small:
        record(model, encoder, args.run, "train", 24, 24, args.seed, "features-train.npz", args.draft_data, max_new_tokens=8, batch_size=8)
        record(model, encoder, args.run, "heldout", 8, 8, args.seed, "features-heldout.npz", args.draft_data, max_new_tokens=8, batch_size=8)
    else:
        train_count = args.feature_samples
        record(
            model,
            encoder,
            args.run,
            "train",
            train_count * 2 // 3,
            train_count // 3,
            args.seed,
            "features-train.npz",
            args.draft_data,
            batch_size=args.feature_batch,
        )
        record(model, encoder, args.run, "heldout", 200, 100, args.seed, "features-heldout.npz", args.draft_data, batch_size=args.feature_batch)


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
    train(
        model,
        os.path.join(args.run, "features-train.npz"),
        os.path.join(args.run, f"draft-{name}.pt"),
        decoupled=decoupled,
        curriculum=curriculum,
        steps=steps,
        batch_size=4 if args.small else args.draft_batch,
        lr=args.draft_lr,
        seed=args.seed,
        label=f"draft:{name}",
        device=args.device,
        minutes=None if args.small else args.draft_minutes,
    )


def draft(args) -> None:
    _train_draft(args, "msd")


def ablations(args) -> None:
    _train_draft(args, "not-decoupled")
    _train_draft(args, "multimodal-only")


def _load_draft(args, name: str, target):
    import torch

    from .modeling import DraftConfig, MsdDraft, TextConfig

    state = torch.load(os.path.join(args.run, f"draft-{name}.pt"), map_location="cpu")
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
        results[name] = {
            "agreement": agreement(draft, features),
            "curriculum": state["curriculum"],
            "decoupled": draft.config.decoupled,
            "steps": state["steps"],
            "train_seconds": state["seconds"],
        }
        print(name, json.dumps(results[name]))
    with open(os.path.join(args.run, "drafts-eval.json"), "w") as f:
        json.dump(results, f, indent=2)


def _draft_parity_case(draft, cases_dir: str, name: str, seed: int) -> None:
    import copy

    import numpy as np
    import torch

    from .draft_graph import exported_case
    from .modeling import causal_mask
    from .onnx_export import write_parity_case as write_case
    from .quantize import fake_quantize_linear

    def write_parity_case(directory: str, case: str, feeds: dict, expected: dict) -> None:
        write_case(directory, case, *exported_case(draft, feeds, expected))

    # The exported draft computes with int8 weights; the reference computes exactly that too.
    draft = copy.deepcopy(draft)
    fake_quantize_linear(draft)
    t = draft.config.text_config
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        # Prefill 5 positions (two of them image positions), then a 3-node tree.
        ids = rng.integers(0, t.vocab_size, (1, 5)).astype(np.int64)
        hidden = rng.standard_normal((1, 5, t.hidden_size)).astype(np.float32)
        image = rng.standard_normal((1, 5, t.hidden_size)).astype(np.float32) * 0.1
        image_mask = np.array([[0, 1, 1, 0, 0]], np.float32)
        _, (key, value) = draft(
            torch.from_numpy(ids),
            torch.from_numpy(hidden),
            torch.from_numpy(image),
            torch.from_numpy(image_mask),
            torch.arange(5).view(1, 5),
            causal_mask(torch.ones(1, 5)),
        )
        tree_ids = rng.integers(0, t.vocab_size, (1, 3)).astype(np.int64)
        tree_hidden = rng.standard_normal((1, 3, t.hidden_size)).astype(np.float32)
        zeros = np.zeros((1, 3, t.hidden_size), np.float32)
        allowed = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1]], bool)
        mask = np.concatenate([np.zeros((3, 5), np.float32), np.where(allowed, 0, np.finfo(np.float32).min).astype(np.float32)], 1).reshape(1, 1, 3, 8)
        positions = np.array([[5, 6, 6]], np.int64)
        feeds = {
            "input_ids": tree_ids,
            "hidden_states": tree_hidden,
            "image_embeds": zeros,
            "image_mask": np.zeros((1, 3), np.float32),
            "position_ids": positions,
            "attention_mask": mask,
            "past_key_values.0.key": key.numpy(),
            "past_key_values.0.value": value.numpy(),
            "topk_rows": np.arange(3, dtype=np.int64),
        }
        out, (key2, value2) = draft(
            torch.from_numpy(tree_ids),
            torch.from_numpy(tree_hidden),
            torch.from_numpy(zeros),
            torch.zeros(1, 3),
            torch.from_numpy(positions),
            torch.from_numpy(mask),
            (key, value),
        )
        logprobs = torch.log_softmax(draft.lm_head(out), -1)
        top_values, top_ids = torch.topk(logprobs, 10, -1)
        write_parity_case(
            cases_dir,
            name,
            feeds,
            {
                "last_hidden_state": out.numpy(),
                "topk_logprobs": top_values.numpy(),
                "topk_ids": top_ids.numpy(),
                "present.0.key": key2.numpy(),
                "present.0.value": value2.numpy(),
            },
        )
        # The same prefill asking for its last row only (as a prompt pass does): output for that row,
        # KV for all five.
        prefill = {
            "input_ids": ids,
            "hidden_states": hidden,
            "image_embeds": image,
            "image_mask": image_mask,
            "position_ids": np.arange(5, dtype=np.int64).reshape(1, 5),
            "attention_mask": causal_mask(torch.ones(1, 5)).numpy(),
            "past_key_values.0.key": np.zeros((1, t.num_key_value_heads, 0, t.head_dim), np.float32),
            "past_key_values.0.value": np.zeros((1, t.num_key_value_heads, 0, t.head_dim), np.float32),
            "topk_rows": np.array([4], np.int64),
        }
        last, (key3, value3) = draft(*(torch.from_numpy(prefill[k]) for k in list(prefill)[:6]), None, torch.from_numpy(prefill["topk_rows"]))
        top_values, top_ids = torch.topk(torch.log_softmax(draft.lm_head(last), -1), 10, -1)
        write_parity_case(
            cases_dir,
            f"{name}_last",
            prefill,
            {
                "last_hidden_state": last.numpy(),
                "topk_logprobs": top_values.numpy(),
                "topk_ids": top_ids.numpy(),
                "present.0.key": key3.numpy(),
                "present.0.value": value3.numpy(),
            },
        )


def _write_draft_graph(draft, path: str, top_k: int, int8: bool) -> dict:
    """The draft's ONNX file as the bundle holds it (int8 layers, fp16-stored weights); returns its
    inputs and outputs as the manifest states them."""
    from .onnx_export import describe, export_draft, store_weights_as_fp16
    from .quantize import quantize_matmuls

    export_draft(draft, path, top_k=top_k)
    if int8:
        quantize_matmuls(path)
    store_weights_as_fp16(path)
    return describe(path)


def export_drafts(args, out_dir: str, names: list[str], cases_dir: str | None = None, rename: dict[str, str] | None = None) -> dict:
    """Exports the run's drafts into a model directory; `rename` gives some of them another name there."""
    target = _load_target(args)
    specs = {}
    for run_name in names:
        if not os.path.exists(os.path.join(args.run, f"draft-{run_name}.pt")):
            continue
        draft, state = _load_draft(args, run_name, target)
        name = (rename or {}).get(run_name, run_name)
        path = os.path.join(out_dir, "onnx", f"draft_{name.replace('-', '_')}.onnx")
        specs[name] = {
            "file": os.path.relpath(path, out_dir),
            **_write_draft_graph(draft, path, top_k=10, int8=True),
            "decoupled": draft.config.decoupled,
            "topK": 10,
            "curriculum": state["curriculum"],
            "weights": "int8",
        }
        if cases_dir:
            _draft_parity_case(draft, cases_dir, f"draft_{name.replace('-', '_')}", args.seed)
    return specs


def _write_json(path: str, data) -> None:
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def _model_files(args, out: str, drafts: dict) -> None:
    """config.json, generation_config.json, preprocessor_config.json, tokenizer files and manifest.json."""
    from .onnx_export import describe

    model = _load_target(args)
    _hf_model_files(args, model, out)
    from .manifest import TARGET_GRAPHS, build_manifest, write_manifest

    graphs = {key: {"file": f"onnx/{name}.onnx", **describe(os.path.join(out, "onnx", f"{name}.onnx"))} for key, name in TARGET_GRAPHS}
    write_manifest(out, build_manifest(model.config, graphs, drafts))


def _hf_model_files(args, model, out: str) -> None:
    """The Hugging Face files of a model directory: config.json, generation_config.json,
    preprocessor_config.json and the tokenizer files (shared by the msd bundle and the transformers.js export)."""
    from .data import CLIP_MEAN, CLIP_STD
    from .tokenizer_export import ExportOptions, export_tokenizer

    c = model.config
    t, v = c.text_config, c.vision_config
    export_tokenizer(
        os.path.join(args.run, "sp.model"),
        out,
        ExportOptions(special_tokens=["<image>", "<pad>"], pad_token="<pad>", model_max_length=t.max_position_embeddings),
    )
    _write_json(
        os.path.join(out, "config.json"),
        {
            "architectures": ["LlavaForConditionalGeneration"],
            "model_type": "llava",
            "image_token_index": c.image_token_index,
            "pad_token_id": c.pad_token_id,
            "image_seq_length": c.image_seq_length,
            "projector_hidden_act": c.projector_hidden_act,
            "vision_feature_layer": c.vision_feature_layer,
            "vision_feature_select_strategy": c.vision_feature_select_strategy,
            "text_config": {
                "model_type": "llama",
                "vocab_size": t.vocab_size,
                "hidden_size": t.hidden_size,
                "intermediate_size": t.intermediate_size,
                "num_hidden_layers": t.num_hidden_layers,
                "num_attention_heads": t.num_attention_heads,
                "num_key_value_heads": t.num_key_value_heads,
                "rms_norm_eps": t.rms_norm_eps,
                "rope_theta": t.rope_theta,
                "max_position_embeddings": t.max_position_embeddings,
                "bos_token_id": c.bos_token_id,
                "eos_token_id": c.eos_token_id,
                "hidden_act": "silu",
            },
            "vision_config": {
                "model_type": "clip_vision_model",
                "hidden_size": v.hidden_size,
                "intermediate_size": v.intermediate_size,
                "num_hidden_layers": v.num_hidden_layers,
                "num_attention_heads": v.num_attention_heads,
                "image_size": v.image_size,
                "patch_size": v.patch_size,
                "hidden_act": v.hidden_act,
                "layer_norm_eps": v.layer_norm_eps,
                "num_channels": v.num_channels,
            },
        },
    )
    _write_json(
        os.path.join(out, "generation_config.json"),
        {"bos_token_id": c.bos_token_id, "eos_token_id": c.eos_token_id, "pad_token_id": c.pad_token_id, "do_sample": False, "max_new_tokens": 64},
    )
    _write_json(
        os.path.join(out, "preprocessor_config.json"),
        {
            "image_processor_type": "CLIPImageProcessor",
            "processor_class": "LlavaProcessor",
            "do_resize": True,
            "size": {"shortest_edge": v.image_size},
            "resample": 3,
            "do_center_crop": True,
            "crop_size": {"height": v.image_size, "width": v.image_size},
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": list(CLIP_MEAN),
            "image_std": list(CLIP_STD),
            "do_convert_rgb": True,
            "do_pad": True,
        },
    )


def target_from_bundle(args) -> None:
    """`<run>/target.ckpt` rebuilt from a bundled model directory (`--from-bundle`), for a target that
    exists only as its ONNX bundle (trained on a GPU lease): features, drafts and ablations then run
    on it as on a target trained here."""
    from .bundle_checkpoint import write_checkpoint

    if not args.from_bundle:
        raise SystemExit("target-from-bundle needs --from-bundle DIR (a bundled model directory, e.g. packages/tiny-llava/model)")
    _check_run_tokenizer(args.run, args.from_bundle)
    path = write_checkpoint(args.from_bundle, args.run)
    print(f"wrote {path} from the bundle {args.from_bundle}")


def _check_run_tokenizer(run: str, bundle_dir: str) -> None:
    """The run's features encode text with its own sp.model: it must be the bundle's tokenizer, or the
    drafts learn from ids the bundle's target never saw. (The data and tokenizer stages rebuild it.)"""
    import tempfile

    from .tokenizer_export import ExportOptions, export_tokenizer

    if not os.path.exists(os.path.join(run, "sp.model")):
        raise SystemExit(f"{run} has no sp.model: run the data and tokenizer stages first, so the run's tokenizer can be checked against the bundle's")
    with tempfile.TemporaryDirectory() as directory:
        export_tokenizer(os.path.join(run, "sp.model"), directory, ExportOptions(special_tokens=["<image>", "<pad>"], pad_token="<pad>"))
        with open(os.path.join(directory, "tokenizer.json")) as f:
            ours = json.load(f)["model"]
    with open(os.path.join(bundle_dir, "tokenizer.json")) as f:
        theirs = json.load(f)["model"]
    if ours.get("vocab") != theirs.get("vocab") or ours.get("merges") != theirs.get("merges"):
        raise SystemExit(f"{run}/sp.model is not the tokenizer of {bundle_dir}: the data stage's corpus differs from the one the bundle was trained on")


def reexport_drafts(args) -> None:
    """Exports a bundled model directory's drafts (`--from-bundle`) again, in place, with this toolchain's
    draft graph layout, from the weights their graphs hold; their parity cases (`../parity`) too. For
    drafts trained elsewhere (the bundled v4 draft came from a GPU lease) when the layout changes."""
    from .bundle_checkpoint import draft_from_bundle

    if not args.from_bundle:
        raise SystemExit("reexport-drafts needs --from-bundle DIR (a bundled model directory, e.g. packages/tiny-llava/model)")
    manifest_path = os.path.join(args.from_bundle, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    cases = os.path.join(os.path.dirname(os.path.abspath(args.from_bundle)), "parity")
    for name, spec in manifest["drafts"].items():
        # Not rounded to fp16 again: the int8 layers' weights come back as int8 x scale, which quantize
        # to the same int8 and scales only as they are.
        draft = draft_from_bundle(args.from_bundle, name)
        path = os.path.join(args.from_bundle, spec["file"])
        spec.update(_write_draft_graph(draft, path, top_k=int(spec.get("topK", 10)), int8=spec.get("weights") == "int8"))
        case = f"draft_{name.replace('-', '_')}"
        if os.path.isdir(os.path.join(cases, case)):
            _draft_parity_case(draft, cases, case, args.seed)
        print(f"re-exported draft {name!r} to {path}")
    _write_json(manifest_path, manifest)


def ablation_bundle(args) -> None:
    """`<run>/model-with-ablations`: a bundled model directory (`--from-bundle`) with this run's drafts
    added beside its own, for a bundle whose target was trained elsewhere (`target-from-bundle`). The
    run's MSD draft is named `msd-same-budget` there, so the bundle's `msd` stays what it was and the
    three drafts of the ablation share one training budget."""
    import shutil

    if not args.from_bundle:
        raise SystemExit("ablation-bundle needs --from-bundle DIR (the bundled model directory the run's target came from)")
    out = os.path.join(args.run, "model-with-ablations")
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(args.from_bundle, out)
    specs = export_drafts(args, out, list(DRAFTS), rename={"msd": "msd-same-budget"})
    if not specs:
        raise SystemExit(f"no drafts in {args.run}: run the draft and ablations stages first")
    manifest_path = os.path.join(out, "manifest.json")
    with open(manifest_path) as f:
        manifest = json.load(f)
    manifest["drafts"].update(specs)
    _write_json(manifest_path, manifest)
    # msd bench reads held-out prompts beside the model directory (../heldout): the bundle's, unless the run has its own.
    heldout = os.path.join(os.path.dirname(os.path.abspath(args.from_bundle)), "heldout")
    if os.path.isdir(heldout) and not os.path.exists(os.path.join(args.run, "heldout")):
        shutil.copytree(heldout, os.path.join(args.run, "heldout"))
    print(f"{out}: drafts {', '.join(manifest['drafts'])}")


def export_transformersjs(args) -> None:
    """The target in transformers.js's LLaVA layout, in <run>/model-transformersjs/: the baseline the
    benchmarks run `@huggingface/transformers`' generate() on (same weights as the bundle)."""
    from .transformersjs_export import export_transformersjs as export, export_transformersjs_from_bundle

    out = os.path.join(args.run, "model-transformersjs")
    if args.from_bundle:
        # No checkpoint needed: the bundled graphs themselves, with a 2D-mask front end on the decoder.
        paths = export_transformersjs_from_bundle(args.from_bundle, out)
        print(f"exported {list(paths)} from the bundle {args.from_bundle} to {out}")
        return
    model = _load_target(args)
    paths = export(model, out, lambda directory: _hf_model_files(args, model, directory))
    print(f"exported {list(paths)} and transformers.js's config files to {out}")


def bundle(args) -> None:
    """Writes the bundled model (target + MSD draft) and, beside the run, the ablation drafts."""
    import shutil

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = os.path.join(args.run, "bundle") if args.small else os.path.join(root, "packages", "tiny-llava", "model")
    cases = os.path.join(os.path.dirname(out), "parity") if not args.small else os.path.join(args.run, "bundle-parity")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "onnx"))
    for name in ("vision_encoder", "embed_tokens", "decoder_model"):
        shutil.copy(os.path.join(args.run, "model", "onnx", f"{name}.onnx"), os.path.join(out, "onnx", f"{name}.onnx"))
    shutil.rmtree(cases, ignore_errors=True)
    shutil.copytree(os.path.join(args.run, "parity"), cases)
    drafts = export_drafts(args, out, ["msd"], cases)
    _model_files(args, out, drafts)
    # Ablation drafts are regenerated by command, never committed: a model directory beside the run.
    ablation_dir = os.path.join(args.run, "model-with-ablations")
    shutil.rmtree(ablation_dir, ignore_errors=True)
    shutil.copytree(out, ablation_dir)
    all_drafts = export_drafts(args, ablation_dir, list(DRAFTS))
    _model_files(args, ablation_dir, all_drafts)
    report = {}
    for name in ("vision-train.json", "target-train.json", "target-eval.json", "drafts-eval.json"):
        path = os.path.join(args.run, name)
        if os.path.exists(path):
            with open(path) as f:
                report[name[:-5]] = json.load(f)
    _write_json(os.path.join(os.path.dirname(out), "training-report.json"), report)
    prompt_fixture(args, os.path.join(os.path.dirname(out), "prompt-ids.json") if not args.small else os.path.join(args.run, "prompts.json"))
    heldout = os.path.join(os.path.dirname(out), "heldout")
    shutil.rmtree(heldout, ignore_errors=True)
    prompt_set(args, heldout, *((4, 2, 2, 4) if args.small else ()))
    print(f"bundled model in {out}; ablation drafts in {ablation_dir}")


def prompt_fixture(args, out_path: str) -> None:
    """Prompt ids as the training data encodes them; the TypeScript tokenizer must produce the same."""
    import random

    from . import scenes
    from .train_target import load_encoder

    model = _load_target(args)
    encoder = load_encoder(args.run, model.config)
    rng = random.Random(args.seed)
    cases = []
    for images in (0, 1, 2, 1, 0, 2):
        scene = scenes.random_scene(rng)
        _, question, answer = rng.choice(scenes.questions(scene, rng))
        ids, mask = encoder.encode_example(question, answer, images)
        prompt_ids = encoder.encode_question(question, images)
        cases.append({"question": question, "images": images, "prompt_ids": prompt_ids, "answer": answer, "answer_ids": ids[len(prompt_ids) :]})
    _write_json(out_path, cases)


def prompt_set(args, out_dir: str, single: int = 40, pairs: int = 10, text: int = 20, detailed: int = 32) -> None:
    """Held-out prompts for the TypeScript tests and benchmarks: rendered scene images (PNG, their
    original sizes) with questions, two-image prompts, and text-only prompts from held-out packages.
    A seed of its own, so no scene repeats the training data."""
    import random

    from . import scenes, text_corpus

    rng = random.Random(args.seed + 31337)
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    prompts = []

    def image(scene) -> str:
        name = f"images/scene-{len([p for p in os.listdir(os.path.join(out_dir, 'images'))]):03d}.png"
        scenes.render(scene).save(os.path.join(out_dir, name), optimize=True)
        return name

    for _ in range(single):
        scene = scenes.random_scene(rng, *scenes.random_size(rng))
        kind, question, answer = rng.choice(scenes.questions(scene, rng))
        prompts.append({"kind": kind, "set": "multimodal", "images": [image(scene)], "question": question, "answer": answer})
    for _ in range(pairs):
        first, second = (scenes.random_scene(rng, *scenes.random_size(rng)) for _ in range(2))
        kind, question, answer = rng.choice(scenes.two_image_questions(first, second, rng))
        prompts.append({"kind": kind, "set": "two-image", "images": [image(first), image(second)], "question": question, "answer": answer})
    # Long answers, what users mostly ask for: detailed descriptions (half), counting step by step,
    # comparisons of two objects and of two images. Single-turn, so any chat API can send them.
    for index in range(detailed):
        scene = scenes.random_scene(rng, *scenes.random_size(rng))
        if index % 8 == 7:
            second = scenes.random_scene(rng, *scenes.random_size(rng))
            kind, question, answer = scenes.two_image_conversations(scene, second, rng)[-1]
            prompts.append({"kind": kind, "set": "detailed", "images": [image(scene), image(second)], "question": question, "answer": answer})
            continue
        long = [item for item in scenes.long_questions(scene, rng) if item[0] != "follow-up"]
        kind, question, answer = long[0] if index % 2 == 0 else rng.choice(long)
        prompts.append({"kind": kind, "set": "detailed", "images": [image(scene)], "question": question, "answer": answer})
    held = [d for d in text_corpus.read_descriptions() if text_corpus.is_held_out(d.package)]
    for d in rng.sample(held, text):
        question, answer = text_corpus.instruction(d, rng)
        prompts.append({"kind": "text", "set": "text-only", "images": [], "question": question, "answer": answer})
    with open(os.path.join(out_dir, "prompts.jsonl"), "w") as f:
        for prompt in prompts:
            f.write(json.dumps(prompt) + "\n")

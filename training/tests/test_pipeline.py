"""The whole toolchain on tiny sizes: every stage runs, writes what the next one reads, and the
bundle has the documented layout."""

import json
import os

import onnx
import pytest

from msd_training.__main__ import STAGES, main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("run"))
    for stage in STAGES:
        assert main([stage, "--run", path, "--small"]) == 0
    return path


def test_data_has_held_out_split_and_image_dependent_answers(run_dir):
    with open(os.path.join(run_dir, "samples-heldout.jsonl")) as f:
        samples = [json.loads(line) for line in f]
    assert any(len(s["images"]) == 2 for s in samples)
    kinds = {kind for s in samples for kind, _, _ in s["qa"]}
    assert {"caption", "count", "colour", "yesno"} <= kinds


def test_bundle_layout_and_manifest(run_dir):
    bundle = os.path.join(run_dir, "bundle")
    for name in ("manifest.json", "config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"):
        assert os.path.exists(os.path.join(bundle, name)), name
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    files = [g["file"] for g in manifest["graphs"].values()] + [d["file"] for d in manifest["drafts"].values()]
    for file in files:
        onnx.checker.check_model(onnx.load(os.path.join(bundle, file)))
    decoder_inputs = [i["name"] for i in manifest["graphs"]["decoder"]["inputs"]]
    assert decoder_inputs[:3] == ["inputs_embeds", "position_ids", "attention_mask"]
    assert manifest["drafts"]["msd"]["decoupled"] is True
    ablations = os.path.join(run_dir, "model-with-ablations", "manifest.json")
    with open(ablations) as f:
        assert set(json.load(f)["drafts"]) == {"msd", "not-decoupled", "multimodal-only"}


def test_evaluations_were_written(run_dir):
    with open(os.path.join(run_dir, "vision-train.json")) as f:
        vision = json.load(f)
    probes = vision["heldout_probe_accuracy"]
    # Per patch, and per object (the object head's own prediction, and a vote of the object's patches).
    assert set(probes) == {"colour_on_objects", "shape_on_objects", "shape_of_objects", "shape_of_objects_by_patch_vote", "background", "count"}
    assert all(0 <= value <= 1 for value in probes.values())
    with open(os.path.join(run_dir, "target-eval.json")) as f:
        result = json.load(f)
    assert 0 <= result["accuracy"] <= 1 and "blank_image_accuracy" in result
    with open(os.path.join(run_dir, "drafts-eval.json")) as f:
        drafts = json.load(f)
    assert set(drafts) == {"msd", "not-decoupled", "multimodal-only"}
    assert set(drafts["msd"]["agreement"]) == {"text", "image-grounded"}


def test_prompt_ids_expand_images(run_dir):
    with open(os.path.join(run_dir, "prompts.json")) as f:
        cases = json.load(f)
    with open(os.path.join(run_dir, "bundle", "manifest.json")) as f:
        manifest = json.load(f)
    for case in cases:
        assert case["prompt_ids"].count(manifest["imageTokenId"]) == case["images"] * manifest["imageTokensPerImage"]
        assert case["answer_ids"][-1] == manifest["eosTokenId"]


def test_draft_features_hold_the_targets_own_greedy_answers(run_dir):
    """Self-distillation: every answer token is the target's argmax after the tokens before it."""
    import argparse

    import numpy as np
    import torch

    from msd_training.stages import _load_target

    model = _load_target(argparse.Namespace(run=run_dir))
    data = np.load(os.path.join(run_dir, "features-train.npz"))
    assert str(data["answers"]) == "target"
    text_rows = [r for r, m in enumerate(data["modality"]) if m == 0]
    checked = 0
    for row in text_rows[:4]:
        start, end = int(data["offsets"][row]), int(data["offsets"][row + 1])
        ids = torch.from_numpy(data["ids"][start:end].astype(np.int64)).view(1, -1)
        answer = data["answer"][start:end].astype(bool)
        with torch.no_grad():
            logits, _, _ = model(ids, torch.ones_like(ids), None)
        predicted = logits[0].argmax(-1)
        for j in np.flatnonzero(answer):
            assert int(ids[0, j]) == int(predicted[j - 1])
            checked += 1
    assert checked > 0


def test_a_run_starts_from_a_bundle_and_adds_its_drafts_to_it(run_dir, tmp_path):
    import shutil

    import torch

    from msd_training.onnx_export import round_to_fp16
    from msd_training.stages import _load_target

    bundle = os.path.join(run_dir, "bundle")
    rebuilt = str(tmp_path / "from-bundle")
    os.makedirs(rebuilt)
    # The run's tokenizer must be the bundle's (checked), as the data and tokenizer stages rebuild it.
    with pytest.raises(SystemExit, match="no sp.model"):
        main(["target-from-bundle", "--run", rebuilt, "--from-bundle", bundle, "--small"])
    shutil.copy(os.path.join(run_dir, "sp.model"), rebuilt)
    assert main(["target-from-bundle", "--run", rebuilt, "--from-bundle", bundle, "--small"]) == 0
    original = torch.load(os.path.join(run_dir, "target.ckpt"), map_location="cpu")
    state = torch.load(os.path.join(rebuilt, "target.ckpt"), map_location="cpu")
    assert state["config"] == original["config"]

    class Args:
        run = run_dir

    reference = _load_target(Args).state_dict()
    round_to_fp16(torch.nn.ParameterList([torch.nn.Parameter(t) for t in reference.values() if t.is_floating_point()]))
    compared = [key for key in reference if key not in state["not_in_bundle"]]
    # Everything the target reads came back, as the fp16-rounded weights _load_target computes with;
    # the tiny tower's second layer and final norm are never read (vision_feature_layer -2).
    assert all(".encoder.layers.1." in key or ".post_layernorm." in key for key in state["not_in_bundle"])
    for key in compared:
        assert torch.equal(state["model"][key], reference[key]), key
    for name in ("msd", "not-decoupled", "multimodal-only"):
        shutil.copy(os.path.join(run_dir, f"draft-{name}.pt"), rebuilt)
    assert main(["ablation-bundle", "--run", rebuilt, "--from-bundle", bundle, "--small"]) == 0
    with open(os.path.join(rebuilt, "model-with-ablations", "manifest.json")) as f:
        manifest = json.load(f)
    assert set(manifest["drafts"]) == {"msd", "msd-same-budget", "not-decoupled", "multimodal-only"}
    assert manifest["defaultDraft"] == "msd"
    for draft in manifest["drafts"].values():
        onnx.checker.check_model(onnx.load(os.path.join(rebuilt, "model-with-ablations", draft["file"])))

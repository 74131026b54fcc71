"""The bundled model's target rebuilt in PyTorch from its ONNX graphs reproduces the PyTorch outputs
the bundle was exported with (its parity cases)."""

import json
import os

import numpy as np
import pytest
import torch

from msd_training.bundle_checkpoint import BundleCheckpointError, target_from_bundle

PACKAGE = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "tiny-llava")


def _case(name: str) -> tuple[dict, dict]:
    directory = os.path.join(PACKAGE, "parity", name)
    with open(os.path.join(directory, "case.json")) as f:
        index = json.load(f)

    def load(entry: dict) -> np.ndarray:
        return np.fromfile(os.path.join(directory, entry["file"]), dtype=entry["dtype"]).reshape(entry["dims"])

    return {k: load(v) for k, v in index["inputs"].items()}, {k: load(v) for k, v in index["expected"].items()}


@pytest.fixture(scope="module")
def model():
    model, missing = target_from_bundle(os.path.join(PACKAGE, "model"))
    # Only what the target never reads is absent: the tower's last layer (vision_feature_layer -2) and final norm.
    assert missing and all(".encoder.layers.3." in key or ".post_layernorm." in key for key in missing)
    return model.eval()


def test_the_rebuilt_target_reproduces_the_bundles_parity_cases(model):
    with torch.no_grad():
        inputs, expected = _case("vision_encoder")
        features = model.image_features(torch.from_numpy(inputs["pixel_values"])).numpy()
        assert np.abs(features - expected["image_features"]).max() < 1e-4
        inputs, expected = _case("embed_tokens")
        embeds = model.language_model.model.embed_tokens(torch.from_numpy(inputs["input_ids"])).numpy()
        assert np.abs(embeds - expected["inputs_embeds"]).max() == 0
        inputs, expected = _case("decoder_model")
        layers = model.config.text_config.num_hidden_layers
        past = [(torch.from_numpy(inputs[f"past_key_values.{i}.key"]), torch.from_numpy(inputs[f"past_key_values.{i}.value"])) for i in range(layers)]
        logits, hidden, presents = model.language_model(
            torch.from_numpy(inputs["inputs_embeds"]), torch.from_numpy(inputs["position_ids"]), torch.from_numpy(inputs["attention_mask"]), past
        )
    assert np.abs(logits.numpy() - expected["logits"]).max() < 1e-4
    assert np.abs(hidden.numpy() - expected["last_hidden_state"]).max() < 1e-4
    assert np.abs(presents[-1][0].numpy() - expected[f"present.{layers - 1}.key"]).max() < 1e-4


def test_a_directory_without_the_graphs_is_a_typed_error(tmp_path):
    with open(os.path.join(PACKAGE, "model", "config.json")) as f:
        (tmp_path / "config.json").write_text(f.read())
    with pytest.raises(BundleCheckpointError, match="vision_encoder.onnx is missing"):
        target_from_bundle(str(tmp_path))


def test_the_bundled_draft_comes_back_with_the_same_int8_weights():
    import onnx
    from onnx import numpy_helper

    from msd_training.bundle_checkpoint import draft_from_bundle
    from msd_training.quantize import quantize_weight

    draft = draft_from_bundle(os.path.join(PACKAGE, "model"), "msd")
    graph = onnx.load(os.path.join(PACKAGE, "model", "onnx", "draft_msd.onnx")).graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    layers = {"/lm_head/MatMul_int8": draft.lm_head, "/draft/layers.0/mlp/up_proj/MatMul_int8": draft.layers[0].mlp.up_proj}
    for node in graph.node:
        if node.name in layers:
            quantized, scale = quantize_weight(layers[node.name].weight.detach().numpy().T)
            assert np.array_equal(quantized, arrays[node.input[1]]) and np.array_equal(scale, arrays[node.input[2]])
    with pytest.raises(BundleCheckpointError, match="no draft named 'nope'"):
        draft_from_bundle(os.path.join(PACKAGE, "model"), "nope")

"""A training checkpoint (`target.ckpt`) rebuilt from a bundled model directory's ONNX graphs.

Why: a target trained on a GPU lease comes back as its ONNX bundle only, yet the stages that follow
(features, drafts, ablations) run the target in PyTorch. The bundle holds every weight the target's
forward pass reads, stored as fp16, which is exactly what `_load_target` rounds a checkpoint to, so
the rebuilt model computes what the bundle computes. The bundle's parity cases (PyTorch outputs
written when it was exported) check that.

Weights are found by name where the exporter kept one, and otherwise by the node that reads them:
torch's exporter names nodes by module path (`/lm/layers.3/mlp/up_proj/MatMul`) but leaves a
transposed `MatMul` weight anonymous (`onnx::MatMul_1297`).
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import torch

# Named initializers: the export wrappers' attribute names -> the model's state-dict prefixes.
NAMED_PREFIXES = (("model.", ""), ("lm.", "language_model."), ("embed.weight", "language_model.model.embed_tokens.weight"))
# Node scopes of the export wrappers -> module prefixes in the state dict.
NODE_SCOPES = (
    (re.compile(r"^/vision_tower/layers\.(\d+)/(.+)/MatMul$"), r"vision_tower.vision_model.encoder.layers.\1.\2"),
    (re.compile(r"^/multi_modal_projector/(.+)/MatMul$"), r"multi_modal_projector.\1"),
    (re.compile(r"^/lm/layers\.(\d+)/(.+)/MatMul$"), r"language_model.model.layers.\1.\2"),
    (re.compile(r"^/lm/lm_head/MatMul$"), "language_model.lm_head"),
)
POSITION_EMBEDDING = "vision_tower.vision_model.embeddings.position_embedding.weight"


class BundleCheckpointError(Exception):
    """The bundle's graphs do not hold the weights this model needs (another exporter or layout)."""


def _graph_weights(path: str) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    graph = model.graph
    arrays = {init.name: numpy_helper.to_array(init).astype(np.float32) for init in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    weights: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        base = name[: -len("_fp16")] if name.endswith("_fp16") else name
        readers = consumers.get(name, [])
        # fp16-stored weights reach their reader through one Cast back to float32.
        if len(readers) == 1 and readers[0].op_type == "Cast":
            readers = consumers.get(readers[0].output[0], [])
        key = _named_key(base)
        if key is not None:
            weights[key] = array
            continue
        for reader in readers:
            if reader.op_type == "MatMul" and reader.input[1] != name:
                for pattern, replacement in NODE_SCOPES:
                    if pattern.match(reader.name):
                        module = pattern.sub(replacement, reader.name).replace("/", ".")
                        weights[module + ".weight"] = array.T
            elif reader.op_type == "Add" and reader.name == "/vision_tower/embeddings/Add" and array.ndim == 3:
                # The position embedding, gathered at positions 0..N-1 and folded into a constant.
                weights[POSITION_EMBEDDING] = array[0]
    return weights


def _named_key(name: str) -> str | None:
    if name.startswith("onnx::"):
        return None
    for prefix, replacement in NAMED_PREFIXES:
        if name.startswith(prefix):
            return replacement + name[len(prefix) :]
    return None


def target_from_bundle(bundle_dir: str):
    """The bundle's target as `LlavaForConditionalGeneration`, plus the state-dict keys it lacked
    (layers past `vision_feature_layer` and the tower's final norm, which the target never reads)."""
    from .modeling import LlavaConfig, LlavaForConditionalGeneration

    with open(os.path.join(bundle_dir, "config.json")) as f:
        config = LlavaConfig.from_dict(json.load(f))
    model = LlavaForConditionalGeneration(config)
    found: dict[str, np.ndarray] = {}
    for graph in ("vision_encoder", "embed_tokens", "decoder_model"):
        path = os.path.join(bundle_dir, "onnx", f"{graph}.onnx")
        if not os.path.exists(path):
            raise BundleCheckpointError(f"{path} is missing: a bundled model directory has onnx/{graph}.onnx")
        found.update(_graph_weights(path))
    state = model.state_dict()
    unknown = sorted(set(found) - set(state))
    if unknown:
        raise BundleCheckpointError(f"weights in the bundle that this model does not have: {unknown[:5]}")
    for key, array in found.items():
        if tuple(state[key].shape) != array.shape:
            raise BundleCheckpointError(f"{key}: the bundle holds {array.shape}, the model needs {tuple(state[key].shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(array))
    missing = sorted(set(state) - set(found))
    unused = _unused_by_target(config)
    needed = [key for key in missing if not any(key.startswith(prefix) for prefix in unused)]
    if needed:
        raise BundleCheckpointError(f"weights the target reads but the bundle lacks: {needed[:5]}")
    model.load_state_dict(state)
    return model, missing


def _unused_by_target(config) -> list[str]:
    """State-dict prefixes the target's forward pass never reads: tower layers after the one whose
    output it takes (`vision_feature_layer`, -2: the second to last) and the tower's final norm."""
    layers = config.vision_config.num_hidden_layers
    taken = config.vision_feature_layer % (layers + 1)
    tower = "vision_tower.vision_model."
    return [f"{tower}encoder.layers.{index}." for index in range(taken, layers)] + [f"{tower}post_layernorm."]


def write_checkpoint(bundle_dir: str, run_dir: str) -> str:
    """Writes `<run>/target.ckpt` from the bundle; returns its path."""
    model, missing = target_from_bundle(bundle_dir)
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, "target.ckpt")
    state = {"model": model.state_dict(), "config": model.config.to_dict(), "from_bundle": os.path.abspath(bundle_dir), "not_in_bundle": missing}
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)
    return path


# Draft graphs: node scopes of the draft export -> MsdDraft module names. int8 layers
# (`DynamicQuantizeMatMul`, quantize.py) come back dequantized; quantizing them again gives the same
# int8 weights and scales (symmetric per column: each column's largest weight is +-127 x its scale).
DRAFT_SCOPES = (
    (re.compile(r"^/draft/fc/MatMul$"), "fc"),
    (re.compile(r"^/draft/layers\.0/(self_attn/[qkvo]_proj|mlp/(?:gate|up|down)_proj)/MatMul(_int8)?$"), r"layers.0.\1"),
    (re.compile(r"^/lm_head/MatMul(_int8)?$"), "lm_head"),
)


def draft_from_bundle(bundle_dir: str, name: str = "msd"):
    """The bundle's draft `name` as an `MsdDraft` (to export it again, e.g. with a newer graph layout)."""
    import onnx
    from onnx import numpy_helper

    from .modeling import DraftConfig, LlavaConfig, MsdDraft

    with open(os.path.join(bundle_dir, "config.json")) as f:
        config = LlavaConfig.from_dict(json.load(f))
    with open(os.path.join(bundle_dir, "manifest.json")) as f:
        spec = json.load(f)["drafts"].get(name)
    if spec is None:
        raise BundleCheckpointError(f"{bundle_dir}/manifest.json has no draft named {name!r}")
    draft = MsdDraft(DraftConfig(text_config=config.text_config, decoupled=bool(spec.get("decoupled", True))))
    graph = onnx.load(os.path.join(bundle_dir, spec["file"])).graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    through_cast = {node.output[0]: node.input[0] for node in graph.node if node.op_type == "Cast" and node.input[0] in arrays}

    def weight(value: str) -> np.ndarray:
        return arrays[through_cast.get(value, value)].astype(np.float32)

    found: dict[str, np.ndarray] = {}
    for init_name in arrays:
        base = init_name[: -len("_fp16")] if init_name.endswith("_fp16") else init_name
        if base.startswith("draft."):
            found[base[len("draft.") :]] = weight(init_name)
    for node in graph.node:
        for pattern, replacement in DRAFT_SCOPES:
            if not pattern.match(node.name):
                continue
            module = pattern.sub(replacement, node.name).replace("/", ".")
            if node.op_type == "MatMul":
                found[module + ".weight"] = weight(node.input[1]).T
            elif node.op_type == "DynamicQuantizeMatMul":
                quantized, scale = arrays[node.input[1]].astype(np.float32), arrays[node.input[2]].astype(np.float32)
                found[module + ".weight"] = (quantized * scale).T
    state = draft.state_dict()
    if set(found) != set(state):
        raise BundleCheckpointError(f"draft {name!r}: the bundle's weights {sorted(set(found) ^ set(state))[:5]} do not match MsdDraft's")
    for key, array in found.items():
        if tuple(state[key].shape) != array.shape:
            raise BundleCheckpointError(f"draft {name!r}, {key}: the bundle holds {array.shape}, the draft needs {tuple(state[key].shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(array))
    draft.load_state_dict(state)
    return draft.eval()

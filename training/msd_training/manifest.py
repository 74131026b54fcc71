"""`manifest.json` of an msd model directory (docs/model-format.md; typed as ModelManifest in @msd/core)."""

from __future__ import annotations

import json
import os

from .modeling import LlavaConfig

TARGET_GRAPHS = (("visionEncoder", "vision_encoder"), ("embedTokens", "embed_tokens"), ("decoder", "decoder_model"))


def build_manifest(config: LlavaConfig, graphs: dict[str, dict], drafts: dict[str, dict]) -> dict:
    """graphs: keyed visionEncoder/embedTokens/decoder, each {file, inputs, outputs}; drafts: by name."""
    t, v = config.text_config, config.vision_config
    return {
        "format": "msd-model",
        "formatVersion": 1,
        "architecture": "llava",
        "imageTokenId": config.image_token_index,
        "imageTokensPerImage": config.image_seq_length,
        "imageSize": v.image_size,
        "bosTokenId": config.bos_token_id,
        "eosTokenId": config.eos_token_id,
        "padTokenId": config.pad_token_id,
        "vocabSize": t.vocab_size,
        "hiddenSize": t.hidden_size,
        "numLayers": t.num_hidden_layers,
        "numKeyValueHeads": t.num_key_value_heads,
        "headDim": t.head_dim,
        "maxPositions": t.max_position_embeddings,
        "graphs": {key: {k: graphs[key][k] for k in ("file", "inputs", "outputs")} for key, _ in TARGET_GRAPHS},
        "drafts": drafts,
        **({"defaultDraft": "msd"} if "msd" in drafts else {}),
    }


def write_manifest(out_dir: str, manifest: dict) -> str:
    path = os.path.join(out_dir, "manifest.json")
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return path

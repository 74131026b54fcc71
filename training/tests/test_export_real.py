"""Real-checkpoint loading and export on tiny random checkpoints written with llava-hf's and MSD's real key names.

No onnxruntime exists in this Python, so ONNX numerics are checked by the TypeScript suite through
onnxruntime-node on the parity cases `write_parity_cases` produces; here we check the graphs are well formed, keep
the names and dims of `onnx_export.describe`, carry exactly the loaded weights, and that the loaded PyTorch modules
hold the checkpoint's values.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, numpy_helper

from msd_training import export_real as er
from msd_training.hf_checkpoint import CheckpointError, llava_config_from_hf, load_llava, load_msd_draft, normalize_llava_key
from msd_training.modeling import causal_mask
from msd_training.onnx_export import describe, export_draft, export_target, round_to_fp16
from msd_training.safetensors_io import (
    Checkpoint,
    SafetensorsError,
    SafetensorsFile,
    bf16_to_float32,
    float32_to_bf16,
    load_safetensors,
    save_safetensors,
    save_sharded_safetensors,
)

VOCAB, DRAFT_VOCAB, D, I, LAYERS, HEADS = 96, 88, 64, 128, 2, 4  # noqa: E741 (I: intermediate size)
DV, IV, VLAYERS, VHEADS, IMAGE, PATCH = 32, 64, 2, 2, 28, 14
DRAFT_I = 96
CONFIG = {
    "architectures": ["LlavaForConditionalGeneration"],
    "model_type": "llava",
    "ignore_index": -100,
    "image_token_index": 88,
    "pad_token_id": 89,
    "projector_hidden_act": "gelu",
    "tie_word_embeddings": False,
    "vision_feature_layer": -2,
    "vision_feature_select_strategy": "default",
    "torch_dtype": "float16",
    # Partial, as in the real llava-1.5-7b-hf config.json: the rest are Llama defaults.
    "text_config": {
        "model_type": "llama",
        "hidden_size": D,
        "intermediate_size": I,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "max_position_embeddings": 128,
        "rms_norm_eps": 1e-5,
        "vocab_size": VOCAB,
        "torch_dtype": "float16",
    },
    "vision_config": {
        "model_type": "clip_vision_model",
        "hidden_size": DV,
        "intermediate_size": IV,
        "num_hidden_layers": VLAYERS,
        "num_attention_heads": VHEADS,
        "image_size": IMAGE,
        "patch_size": PATCH,
        "projection_dim": 16,
        "vocab_size": 32000,
    },
}
DRAFT_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_act": "silu",
    "hidden_size": D,
    "intermediate_size": DRAFT_I,
    "num_attention_heads": HEADS,
    "num_hidden_layers": 1,
    "num_key_value_heads": HEADS,
    "rms_norm_eps": 1e-6,
    "rope_scaling": None,
    "max_position_embeddings": 128,
    "vocab_size": DRAFT_VOCAB,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
}


def hf_llava_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    """A random state dict with llava-hf's (pre-4.52) key names and shape rules, written out independently of modeling.py."""
    rng = np.random.default_rng(seed)

    def w(*shape, scale=0.05):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm(n):
        return (1.0 + rng.standard_normal(n) * 0.05).astype(np.float32)

    patches = (IMAGE // PATCH) ** 2
    v = "vision_tower.vision_model."
    out = {
        v + "embeddings.class_embedding": w(DV),
        v + "embeddings.patch_embedding.weight": w(DV, 3, PATCH, PATCH),
        v + "embeddings.position_embedding.weight": w(patches + 1, DV),
        v + "embeddings.position_ids": np.arange(patches + 1, dtype=np.int64)[None],  # a buffer old CLIP checkpoints carry
        v + "pre_layrnorm.weight": norm(DV),
        v + "pre_layrnorm.bias": w(DV),
    }
    for i in range(VLAYERS):
        p = f"{v}encoder.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out[f"{p}self_attn.{proj}.weight"], out[f"{p}self_attn.{proj}.bias"] = w(DV, DV), w(DV)
        out[p + "layer_norm1.weight"], out[p + "layer_norm1.bias"] = norm(DV), w(DV)
        out[p + "mlp.fc1.weight"], out[p + "mlp.fc1.bias"], out[p + "mlp.fc2.weight"], out[p + "mlp.fc2.bias"] = w(IV, DV), w(IV), w(DV, IV), w(DV)
        out[p + "layer_norm2.weight"], out[p + "layer_norm2.bias"] = norm(DV), w(DV)
    out[v + "post_layernorm.weight"], out[v + "post_layernorm.bias"] = norm(DV), w(DV)
    out["multi_modal_projector.linear_1.weight"], out["multi_modal_projector.linear_1.bias"] = w(D, DV), w(D)
    out["multi_modal_projector.linear_2.weight"], out["multi_modal_projector.linear_2.bias"] = w(D, D), w(D)
    out["language_model.model.embed_tokens.weight"] = w(VOCAB, D, scale=0.5)
    for i in range(LAYERS):
        p = f"language_model.model.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            out[f"{p}self_attn.{proj}.weight"] = w(D, D)
        out[p + "self_attn.rotary_emb.inv_freq"] = (1.0 / 10000 ** (np.arange(0, D // HEADS, 2) / (D // HEADS))).astype(np.float32)
        out[p + "mlp.gate_proj.weight"], out[p + "mlp.up_proj.weight"], out[p + "mlp.down_proj.weight"] = w(I, D), w(I, D), w(D, I)
        out[p + "input_layernorm.weight"], out[p + "post_attention_layernorm.weight"] = norm(D), norm(D)
    out["language_model.model.norm.weight"] = norm(D)
    out["language_model.lm_head.weight"] = w(VOCAB, D)
    return out


def new_layout(tensors: dict) -> dict:
    """transformers >= 4.52 key names."""
    out = {}
    for key, value in tensors.items():
        if key == "language_model.lm_head.weight":
            out["lm_head.weight"] = value
        elif key.startswith("language_model.model."):
            out["model.language_model." + key[len("language_model.model.") :]] = value
        else:
            out["model." + key] = value
    return out


def draft_tensors(seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    p = "layers.0."
    out = {
        "embed_tokens.weight": w(DRAFT_VOCAB, D),
        "fc.weight": w(D, 2 * D),
        "fc.bias": w(D),
        p + "mlp.gate_proj.weight": w(DRAFT_I, D),
        p + "mlp.up_proj.weight": w(DRAFT_I, D),
        p + "mlp.down_proj.weight": w(D, DRAFT_I),
        p + "post_attention_layernorm.weight": (1 + w(D)).astype(np.float32),
        p + "self_attn.rotary_emb.inv_freq": np.ones(D // HEADS // 2, np.float32),
    }
    for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
        out[f"{p}self_attn.{proj}.weight"] = w(D, D)
    return out


def write_llava(directory, tensors, bf16=(), shards=3) -> str:
    os.makedirs(directory, exist_ok=True)
    save_sharded_safetensors(str(directory), tensors, shards=shards, bf16=bf16)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(CONFIG, f)
    for name in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"):
        with open(os.path.join(directory, name), "w") as f:
            json.dump({"name": name}, f)
    return str(directory)


def write_draft(directory, tensors=None) -> str:
    os.makedirs(directory, exist_ok=True)
    tensors = draft_tensors() if tensors is None else tensors
    torch.save({k: torch.from_numpy(v) for k, v in tensors.items()}, os.path.join(directory, "pytorch_model.bin"))
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(DRAFT_CONFIG, f)
    return str(directory)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    tensors = hf_llava_tensors()
    return {
        "tensors": tensors,
        "old": write_llava(root / "llava-old", tensors),
        "new": write_llava(root / "llava-new", new_layout(tensors)),
        "draft": write_draft(root / "draft"),
        "root": root,
    }


# ---------------------------------------------------------------- safetensors


def test_safetensors_roundtrip_dtypes_and_memmap(tmp_path):
    tensors = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
        "f16": np.array([1.5, -2.0, 65504], np.float16),
        "i64": np.array([[-3, 2**40]], np.int64),
        "scalar": np.array(2.5, np.float64),
        "empty": np.zeros((0, 4), np.float32),
        "bf": np.array([1.0, -3.0, 3.140625, 1e-3], np.float32),
    }
    path = str(tmp_path / "a.safetensors")
    save_safetensors(path, tensors, metadata={"format": "pt"}, bf16=["bf"])
    raw = open(path, "rb").read()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])
    assert header["__metadata__"] == {"format": "pt"} and header["bf"]["dtype"] == "BF16" and header["i64"]["dtype"] == "I64"
    assert (8 + header_len) % 8 == 0
    file = SafetensorsFile(path)
    for name in ("f32", "f16", "i64", "scalar", "empty"):
        got = file.get(name)
        assert got.dtype == tensors[name].dtype and got.shape == tensors[name].shape
        np.testing.assert_array_equal(got, tensors[name])
    assert not file.get("f32").flags.writeable  # a view of the read-only memory map, not a copy
    bf = file.get("bf")
    assert bf.dtype == np.float32
    np.testing.assert_array_equal(bf[:3], [1.0, -3.0, 3.140625])  # representable in bf16: exact
    assert bf[3] == bf16_to_float32(float32_to_bf16(np.float32(1e-3)))
    assert set(load_safetensors(path)) == set(tensors)


def test_bf16_bits_are_exact():
    assert bf16_to_float32(np.array([0x3F80, 0xC040, 0x0001], np.uint16)).tolist() == [1.0, -3.0, np.float32(2.0**-133)]
    # round to nearest even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7
    assert float32_to_bf16(np.array([1 + 2**-8, 1 + 3 * 2**-8], np.float32)).tolist() == [0x3F80, 0x3F82]
    values = bf16_to_float32(np.arange(0, 0x7F80, 37, dtype=np.uint16))
    assert np.array_equal(float32_to_bf16(values), np.arange(0, 0x7F80, 37, dtype=np.uint16))


def test_safetensors_rejects_malformed(tmp_path):
    path = tmp_path / "bad.safetensors"
    header = json.dumps({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    with pytest.raises(SafetensorsError, match="offsets"):
        SafetensorsFile(str(path))
    path.write_bytes((10**12).to_bytes(8, "little"))
    with pytest.raises(SafetensorsError, match="header length"):
        SafetensorsFile(str(path))
    header = json.dumps({"x": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0")
    with pytest.raises(SafetensorsError, match="F8_E4M3"):
        SafetensorsFile(str(path))


def test_sharded_checkpoint_index(checkpoints):
    ckpt = Checkpoint(checkpoints["old"])
    assert set(ckpt.keys()) == set(checkpoints["tensors"])
    assert len({os.path.basename(f) for f in json.load(open(os.path.join(checkpoints["old"], "model.safetensors.index.json")))["weight_map"].values()}) == 3
    key = "language_model.model.layers.1.mlp.down_proj.weight"
    np.testing.assert_array_equal(ckpt.get(key), checkpoints["tensors"][key])
    draft = Checkpoint(os.path.join(checkpoints["draft"], "pytorch_model.bin"))
    np.testing.assert_array_equal(draft.get("fc.bias"), draft_tensors()["fc.bias"])


# ---------------------------------------------------------------- configs and weights


def test_llava_config_defaults_from_real_config():
    real = {
        "architectures": ["LlavaForConditionalGeneration"],
        "ignore_index": -100,
        "image_token_index": 32000,
        "model_type": "llava",
        "pad_token_id": 32001,
        "projector_hidden_act": "gelu",
        "text_config": {
            "_name_or_path": "lmsys/vicuna-7b-v1.5",
            "architectures": ["LlamaForCausalLM"],
            "max_position_embeddings": 4096,
            "model_type": "llama",
            "rms_norm_eps": 1e-05,
            "torch_dtype": "float16",
            "vocab_size": 32064,
        },
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
        "vision_config": {
            "hidden_size": 1024,
            "image_size": 336,
            "intermediate_size": 4096,
            "model_type": "clip_vision_model",
            "num_attention_heads": 16,
            "num_hidden_layers": 24,
            "patch_size": 14,
            "projection_dim": 768,
            "vocab_size": 32000,
        },
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "vocab_size": 32064,
    }
    config = llava_config_from_hf(real)
    t, v = config.text_config, config.vision_config
    assert (t.vocab_size, t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads, t.intermediate_size) == (
        32064,
        4096,
        32,
        32,
        32,
        11008,
    )
    assert (t.rms_norm_eps, t.rope_theta, t.max_position_embeddings) == (1e-5, 10000.0, 4096)
    assert (v.hidden_size, v.num_hidden_layers, v.image_size, v.patch_size, v.hidden_act, v.num_patches) == (1024, 24, 336, 14, "quick_gelu", 576)
    assert (config.image_token_index, config.pad_token_id, config.vision_feature_layer) == (32000, 32001, -2)
    with pytest.raises(CheckpointError, match="rope_scaling"):
        llava_config_from_hf({**real, "text_config": {**real["text_config"], "rope_scaling": {"type": "linear", "factor": 2.0}}})


def test_key_layouts_map_to_the_same_model(checkpoints):
    assert normalize_llava_key("model.language_model.layers.3.mlp.up_proj.weight") == "language_model.model.layers.3.mlp.up_proj.weight"
    assert normalize_llava_key("lm_head.weight") == "language_model.lm_head.weight"
    assert normalize_llava_key("model.vision_tower.vision_model.pre_layrnorm.bias") == "vision_tower.vision_model.pre_layrnorm.bias"
    old, new = load_llava(checkpoints["old"]), load_llava(checkpoints["new"])
    tensors = checkpoints["tensors"]
    state_old, state_new = old.state_dict(), new.state_dict()
    assert set(state_old) == set(state_new)
    for name in state_old:
        assert torch.equal(state_old[name], state_new[name]), name
    np.testing.assert_array_equal(old.language_model.model.embed_tokens.weight[17].numpy(), tensors["language_model.model.embed_tokens.weight"][17])
    np.testing.assert_array_equal(new.language_model.lm_head.weight.numpy(), tensors["language_model.lm_head.weight"])
    np.testing.assert_array_equal(
        new.vision_tower.vision_model.embeddings.class_embedding.numpy(), tensors["vision_tower.vision_model.embeddings.class_embedding"]
    )
    assert old.config.image_token_index == 88 and old.config.text_config.num_key_value_heads == HEADS


def test_bf16_checkpoint_loads_exactly(checkpoints, tmp_path):
    tensors = checkpoints["tensors"]
    key = "language_model.model.layers.0.self_attn.q_proj.weight"
    model = load_llava(write_llava(tmp_path / "bf16", tensors, bf16=[key, "language_model.lm_head.weight"], shards=2))
    expected = bf16_to_float32(float32_to_bf16(tensors[key]))
    assert np.array_equal(model.language_model.model.layers[0].self_attn.q_proj.weight.numpy(), expected)
    assert not np.array_equal(expected, tensors[key])  # the rounding did happen


def test_missing_and_unexpected_keys_are_named(checkpoints, tmp_path):
    tensors = dict(checkpoints["tensors"])
    del tensors["language_model.model.layers.1.post_attention_layernorm.weight"]
    tensors["language_model.model.layers.1.self_attn.q_proj.bias"] = np.zeros(D, np.float32)
    with pytest.raises(CheckpointError) as error:
        load_llava(write_llava(tmp_path / "broken", tensors))
    message = str(error.value)
    assert "missing (1): language_model.model.layers.1.post_attention_layernorm.weight" in message
    assert "unexpected (1): language_model.model.layers.1.self_attn.q_proj.bias" in message
    assert error.value.missing == ["language_model.model.layers.1.post_attention_layernorm.weight"]
    draft = draft_tensors()
    del draft["fc.bias"]
    with pytest.raises(CheckpointError, match=r"missing \(1\): fc.bias"):
        load_msd_draft(write_draft(tmp_path / "broken-draft", draft), load_llava(checkpoints["old"]))


def test_draft_loads_and_pads_the_vocabulary(checkpoints):
    target = load_llava(checkpoints["old"])
    draft = load_msd_draft(checkpoints["draft"], target)
    raw = draft_tensors()
    t = draft.config.text_config
    assert (t.vocab_size, t.intermediate_size, t.rms_norm_eps, t.hidden_size) == (VOCAB, DRAFT_I, 1e-6, D)
    assert draft.config.decoupled and draft.checkpoint_embed_rows == DRAFT_VOCAB
    np.testing.assert_array_equal(draft.fc.bias.numpy(), raw["fc.bias"])
    np.testing.assert_array_equal(draft.fc.weight.numpy(), raw["fc.weight"])
    np.testing.assert_array_equal(draft.layers[0].mlp.down_proj.weight.numpy(), raw["layers.0.mlp.down_proj.weight"])
    embed = draft.embed_tokens.weight.numpy()
    np.testing.assert_array_equal(embed[:DRAFT_VOCAB], raw["embed_tokens.weight"])
    np.testing.assert_array_equal(embed[DRAFT_VOCAB:], target.language_model.model.embed_tokens.weight[DRAFT_VOCAB:].numpy())
    np.testing.assert_array_equal(draft.lm_head.weight.numpy(), target.language_model.lm_head.weight.numpy())
    assert draft.layers[0].input_layernorm is None
    # A draft without embed_tokens takes the target's embedding whole; the file path form works too.
    no_embed = {k: v for k, v in raw.items() if k != "embed_tokens.weight"}
    directory = os.path.join(checkpoints["root"], "draft-no-embed")
    write_draft(directory, no_embed)
    draft2 = load_msd_draft(os.path.join(directory, "pytorch_model.bin"), target)
    assert draft2.checkpoint_embed_rows is None
    assert torch.equal(draft2.embed_tokens.weight, target.language_model.model.embed_tokens.weight)


# ---------------------------------------------------------------- export


def _expected_io(model, draft, tmp) -> dict:
    """describe() of the graphs onnx_export produces for the same modules."""
    paths = export_target(model, str(tmp))
    paths["draft_msd"] = os.path.join(str(tmp), "onnx", "draft_msd.onnx")
    export_draft(draft, paths["draft_msd"], 5)
    return paths


def _initializers(path: str) -> dict[str, np.ndarray]:
    """Initialiser values as the graph computes with them: `<name>_fp16` + Cast counted as `<name>` in float32."""
    model = onnx.load(path)  # loads external data
    casts = {n.input[0]: n.output[0] for n in model.graph.node if n.op_type == "Cast"}
    out = {}
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        if init.name in casts:
            out[casts[init.name]] = array.astype(np.float32)
        else:
            out[init.name] = array
    return out


@pytest.fixture(scope="module")
def exports(checkpoints, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    lines = []
    fp32 = er.export_real(checkpoints["new"], checkpoints["draft"], str(root / "fp32"), draft_top_k=5, parity_dir=str(root / "parity"), log=lines.append)
    fp16 = er.export_real(
        checkpoints["old"], checkpoints["draft"], str(root / "fp16"), fp16=True, draft_top_k=5, external_data_threshold=4096, log=lines.append
    )
    model = load_llava(checkpoints["old"])
    draft = load_msd_draft(checkpoints["draft"], model)
    reference = _expected_io(model, draft, root / "reference")
    round_to_fp16(model)
    round_to_fp16(draft)
    reference16 = _expected_io(model, draft, root / "reference16")
    return {"root": root, "lines": lines, "fp32": fp32, "fp16": fp16, "reference": reference, "reference16": reference16}


def test_export_layout_and_io_match_onnx_export(exports):
    root = exports["root"]
    for variant in ("fp32", "fp16"):
        out = root / variant
        config = json.load(open(out / "export_info.json"))
        assert set(config["graphs"]) == set(er.GRAPHS)
        manifest = json.load(open(out / "manifest.json"))
        assert manifest["format"] == "msd-model" and manifest["imageTokenId"] == config["llava"]["image_token_index"]
        assert manifest["graphs"]["decoder"]["inputs"] == describe(str(out / "onnx" / "decoder_model.onnx"))["inputs"]
        assert manifest["drafts"]["msd"]["file"] == "onnx/draft_msd.onnx" and manifest["drafts"]["msd"]["topK"] == 5
        # config.json stays the source's Hugging Face config.
        assert json.load(open(out / "config.json"))["text_config"]["vocab_size"] == VOCAB
        for name in er.GRAPHS:
            path = str(out / "onnx" / f"{name}.onnx")
            onnx.checker.check_model(path)
            io = describe(path)
            assert io == describe(exports["reference"][name]), (variant, name)
            assert config["graphs"][name]["inputs"] == io["inputs"] and config["graphs"][name]["outputs"] == io["outputs"]
        for copied in ("config.json", "tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"):
            assert (out / copied).exists()
        assert not (out / ".staging").exists()
        assert config["draft"]["top_k"] == 5 and config["draft"]["checkpoint_embed_rows"] == DRAFT_VOCAB
        assert config["llava"]["text_config"]["vocab_size"] == VOCAB
    assert describe(str(root / "fp32" / "onnx" / "draft_msd.onnx"))["outputs"][2] == {
        "name": "topk_ids",
        "dtype": "int64",
        "dims": ["batch_size", "topk_row_count", 5],
    }
    assert sum("[export-real] (" in line for line in exports["lines"]) == 2 * 7 + 1


def test_fp32_export_is_inline_and_carries_the_loaded_weights(exports):
    out = exports["root"] / "fp32" / "onnx"
    assert sorted(os.listdir(out)) == sorted(f"{name}.onnx" for name in er.GRAPHS)
    for name in er.GRAPHS:
        got, want = _initializers(str(out / f"{name}.onnx")), _initializers(exports["reference"][name])
        assert set(got) == set(want), name
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}:{key}")


def test_fp16_external_data_export(exports):
    out = exports["root"] / "fp16" / "onnx"
    config = exports["fp16"]
    for name in er.GRAPHS:
        path = str(out / f"{name}.onnx")
        assert config["graphs"][name]["external_data"] == f"onnx/{name}.onnx_data"
        assert er.external_files(path) == {f"{name}.onnx_data"}
        model = onnx.load(path, load_external_data=False)
        fp16 = [t for t in model.graph.initializer if t.data_type == TensorProto.FLOAT16]
        assert fp16 and all(t.name.endswith("_fp16") for t in fp16)
        assert sum(n.op_type == "Cast" and n.name.startswith("cast_") for n in model.graph.node) == len(fp16)
        # The graph computes with the fp16-rounded weights, which are what the rounded PyTorch modules hold.
        got, want = _initializers(path), _initializers(exports["reference16"][name])
        assert set(got) == set(want), name
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}:{key}")
    # Halved: the fp16 files are smaller than the fp32 ones.
    size = lambda d, n: sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.startswith(n))  # noqa: E731
    assert size(str(out), "decoder_model") < 0.6 * size(str(exports["root"] / "fp32" / "onnx"), "decoder_model")


def test_finalize_reads_torch_style_per_tensor_external_files(tmp_path):
    """torch 1.13 writes one file per tensor next to a >2 GiB model; finalize must gather them into one file."""
    weight = np.random.default_rng(3).standard_normal((64, 32)).astype(np.float32)
    bias = np.arange(32, dtype=np.float32)
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["x", "w"], ["y0"]), onnx.helper.make_node("Add", ["y0", "b"], ["y"])],
        "g",
        [onnx.helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [onnx.helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 32])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    staging = tmp_path / "staging"
    staging.mkdir()
    onnx.save_model(onnx.helper.make_model(graph), str(staging / "m.onnx"), save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=0)
    assert len(os.listdir(staging)) == 3
    info = er.finalize_onnx(str(staging / "m.onnx"), str(tmp_path / "out" / "m.onnx"), external_data_threshold=10**9)
    assert info["external_data"] is None and os.listdir(tmp_path / "out") == ["m.onnx"]
    values = _initializers(str(tmp_path / "out" / "m.onnx"))
    np.testing.assert_array_equal(values["w"], weight)
    np.testing.assert_array_equal(values["b"], bias)
    info = er.finalize_onnx(str(staging / "m.onnx"), str(tmp_path / "ext" / "m.onnx"), fp16=True, external_data_threshold=100)
    assert sorted(os.listdir(tmp_path / "ext")) == ["m.onnx", "m.onnx_data"] and info["fp16_tensors"] == 1
    values = _initializers(str(tmp_path / "ext" / "m.onnx"))
    np.testing.assert_array_equal(values["w"], weight.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(values["b"], bias)  # 32 elements: below the fp16 threshold, and below 1 KiB: inline


def test_parity_cases_match_the_graph_signatures(exports):
    parity = exports["root"] / "parity"
    onnx_dir = exports["root"] / "fp32" / "onnx"
    assert sorted(os.listdir(parity)) == sorted(er.GRAPHS)
    for name in er.GRAPHS:
        case = json.load(open(parity / name / "case.json"))
        io = describe(str(onnx_dir / f"{name}.onnx"))
        for section, specs in (("inputs", io["inputs"]), ("expected", io["outputs"])):
            assert list(case[section]) == [s["name"] for s in specs], (name, section)
            for spec in specs:
                entry = case[section][spec["name"]]
                assert entry["dtype"] == spec["dtype"] and len(entry["dims"]) == len(spec["dims"])
                fixed = [d for d in spec["dims"] if isinstance(d, int)]
                assert all(d in entry["dims"] for d in fixed)
                size = int(np.prod(entry["dims"])) * np.dtype(entry["dtype"]).itemsize
                assert os.path.getsize(parity / name / entry["file"]) == size


def test_loaded_modules_reproduce_hand_computed_values(checkpoints):
    """Key mapping is right if a hand-written forward over the raw checkpoint arrays gives the module's output."""
    tensors = checkpoints["tensors"]
    model = load_llava(checkpoints["new"])
    ids = torch.tensor([[3, 17, 42]])
    embeds = model.language_model.model.embed_tokens(ids)
    np.testing.assert_array_equal(embeds[0].detach().numpy(), tensors["language_model.model.embed_tokens.weight"][[3, 17, 42]])
    x = np.random.default_rng(5).standard_normal((1, 4, DV)).astype(np.float32)
    w1, b1 = tensors["multi_modal_projector.linear_1.weight"], tensors["multi_modal_projector.linear_1.bias"]
    w2, b2 = tensors["multi_modal_projector.linear_2.weight"], tensors["multi_modal_projector.linear_2.bias"]
    h = torch.nn.functional.gelu(torch.from_numpy(x @ w1.T + b1)).numpy()
    np.testing.assert_allclose(model.multi_modal_projector(torch.from_numpy(x)).detach().numpy(), h @ w2.T + b2, atol=1e-5)
    hidden = np.random.default_rng(6).standard_normal((1, 2, D)).astype(np.float32)
    with torch.no_grad():
        logits = model.language_model.lm_head(torch.from_numpy(hidden)).numpy()
        draft = load_msd_draft(checkpoints["draft"], model)
        raw = draft_tensors()
        ids = torch.tensor([[5, 91]])  # 91 >= the draft's 88 rows: a padded row from the target
        fused = draft.layer_input(ids, torch.from_numpy(hidden), torch.zeros(1, 2, D), torch.zeros(1, 2)).numpy()
    np.testing.assert_allclose(logits, hidden @ tensors["language_model.lm_head.weight"].T, atol=1e-5)
    cat = np.concatenate([np.stack([raw["embed_tokens.weight"][5], tensors["language_model.model.embed_tokens.weight"][91]])[None], hidden], axis=-1)
    np.testing.assert_allclose(fused, cat @ raw["fc.weight"].T + raw["fc.bias"], atol=1e-5)
    # The draft runs end to end on the loaded weights (shapes agree with the target's KV layout).
    out, (k, _) = draft(ids, torch.from_numpy(hidden), torch.zeros(1, 2, D), torch.zeros(1, 2), torch.arange(2).view(1, 2), causal_mask(torch.ones(1, 2)))
    assert out.shape == (1, 2, D) and k.shape == (1, HEADS, 2, D // HEADS)


def test_cli_reports_a_missing_key(checkpoints, tmp_path, capsys):
    tensors = dict(checkpoints["tensors"])
    del tensors["multi_modal_projector.linear_2.bias"]
    rc = er.main(["--llava", write_llava(tmp_path / "broken", tensors), "--draft", checkpoints["draft"], "--out", str(tmp_path / "out")])
    assert rc == 1
    assert "missing (1): multi_modal_projector.linear_2.bias" in capsys.readouterr().err


def test_transformers_5_config_fields_and_defaults():
    """transformers 5 states RoPE as `rope_parameters`; absent `rms_norm_eps` is LlamaConfig's 1e-6; "full" keeps CLS."""
    base = {
        "model_type": "llava",
        "text_config": {"vocab_size": 32064, "hidden_size": 64, "num_attention_heads": 4},
        "vision_config": {"image_size": 84, "patch_size": 14},
    }
    plain = llava_config_from_hf(base)
    assert plain.text_config.rms_norm_eps == 1e-6 and plain.text_config.rope_theta == 10000.0
    assert plain.image_seq_length == 36
    with_parameters = {**base, "text_config": {**base["text_config"], "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}}}
    assert llava_config_from_hf(with_parameters).text_config.rope_theta == 1e6
    scaled = {**base, "text_config": {**base["text_config"], "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6}}}
    with pytest.raises(CheckpointError, match="rope_parameters.rope_type='linear'"):
        llava_config_from_hf(scaled)
    disagree = {**base, "text_config": {**base["text_config"], "rope_theta": 1e4, "rope_parameters": {"rope_type": "default", "rope_theta": 1e6}}}
    with pytest.raises(CheckpointError, match="disagree"):
        llava_config_from_hf(disagree)
    full = llava_config_from_hf({**base, "vision_feature_select_strategy": "full"})
    assert full.image_seq_length == 37


def test_transformers_5_vision_key_layout():
    assert normalize_llava_key("model.vision_tower.embeddings.class_embedding") == "vision_tower.vision_model.embeddings.class_embedding"
    assert normalize_llava_key("model.vision_tower.encoder.layers.0.mlp.fc1.weight") == "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight"
    assert normalize_llava_key("vision_tower.post_layernorm.weight") == "vision_tower.vision_model.post_layernorm.weight"
    assert normalize_llava_key("vision_tower.vision_model.pre_layrnorm.bias") == "vision_tower.vision_model.pre_layrnorm.bias"


# ---------------------------------------------------------------- SigLIP + Qwen2 (llava-interleave-qwen's layout)


def siglip_qwen2_tensors(seed: int = 3) -> dict[str, np.ndarray]:
    """transformers 5's key layout of a SigLIP + Qwen2 llava: no CLS or pre-layernorm, patch conv bias, the
    pooling head, q/k/v biases, and no lm_head (tied to the embedding)."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for key, value in new_layout(hf_llava_tensors(seed)).items():
        key = key.replace("model.vision_tower.vision_model.", "model.vision_tower.")
        if "class_embedding" in key or "pre_layrnorm" in key or key == "lm_head.weight" or key.endswith("position_ids") or "inv_freq" in key:
            continue
        tensors[key] = value
    patches = (IMAGE // PATCH) ** 2
    tensors["model.vision_tower.embeddings.position_embedding.weight"] = rng.standard_normal((patches, DV)).astype(np.float32)
    tensors["model.vision_tower.embeddings.patch_embedding.bias"] = rng.standard_normal(DV).astype(np.float32)
    for name, shape in (("head.probe", (1, 1, DV)), ("head.attention.in_proj_weight", (3 * DV, DV)), ("head.mlp.fc1.weight", (IV, DV))):
        tensors["model.vision_tower." + name] = rng.standard_normal(shape).astype(np.float32)
    for i in range(LAYERS):
        for proj in ("q_proj", "k_proj", "v_proj"):
            tensors[f"model.language_model.layers.{i}.self_attn.{proj}.bias"] = rng.standard_normal(D).astype(np.float32)
    return tensors


SIGLIP_QWEN2_CONFIG = {
    "model_type": "llava",
    "image_token_index": 88,
    "vision_feature_layer": -1,
    "vision_feature_select_strategy": "full",
    "tie_word_embeddings": True,
    "text_config": {
        "model_type": "qwen2",
        "vocab_size": VOCAB,
        "hidden_size": D,
        "intermediate_size": I,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": HEADS,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1e6},
        "tie_word_embeddings": True,
        "use_sliding_window": False,
        "eos_token_id": 90,
        "pad_token_id": 89,
    },
    "vision_config": {
        "model_type": "siglip_vision_model",
        "hidden_size": DV,
        "intermediate_size": IV,
        "num_hidden_layers": VLAYERS,
        "num_attention_heads": VHEADS,
        "image_size": IMAGE,
        "patch_size": PATCH,
    },
}


def test_siglip_qwen2_config():
    config = llava_config_from_hf(SIGLIP_QWEN2_CONFIG)
    v, t = config.vision_config, config.text_config
    assert v.model_type == "siglip_vision_model" and not v.has_cls
    assert v.hidden_act == "gelu_pytorch_tanh" and v.layer_norm_eps == 1e-6  # SiglipVisionConfig's defaults
    assert t.qkv_bias and t.tie_word_embeddings and t.rope_theta == 1e6 and t.max_position_embeddings == 32768  # Qwen2Config's
    assert config.bos_token_id is None and config.eos_token_id == 90
    assert config.image_seq_length == (IMAGE // PATCH) ** 2  # "full": every patch, no CLS
    assert llava_config_from_hf({**SIGLIP_QWEN2_CONFIG, "vision_feature_select_strategy": "default"}).image_seq_length == (IMAGE // PATCH) ** 2 - 1
    # CLIP + Llama configs serialise as before (the new fields are left out at their defaults).
    assert "qkv_bias" not in llava_config_from_hf(CONFIG).to_dict()["text_config"]
    assert "model_type" not in llava_config_from_hf(CONFIG).to_dict()["vision_config"]


@pytest.mark.parametrize(
    "section, field, value, message",
    [
        ("text_config", "use_sliding_window", True, "use_sliding_window=True"),
        ("text_config", "model_type", "mistral", "model_type='mistral'"),
        ("text_config", "attention_bias", True, "attention_bias=True"),
        ("vision_config", "model_type", "dinov2", "model_type='dinov2'"),
        ("vision_config", "hidden_act", "relu", "hidden_act='relu'"),
        ("vision_config", "image_size", [28, 56], r"image_size=\[28, 56\]"),
    ],
)
def test_siglip_qwen2_unsupported_fields_are_named(section, field, value, message):
    config = {**SIGLIP_QWEN2_CONFIG, section: {**SIGLIP_QWEN2_CONFIG[section], field: value}}
    with pytest.raises(CheckpointError, match=message):
        llava_config_from_hf(config)


def test_siglip_qwen2_loads_and_exports(tmp_path):
    tensors = siglip_qwen2_tensors()
    directory = tmp_path / "siglip-qwen2"
    directory.mkdir()
    save_sharded_safetensors(str(directory), tensors, shards=2)
    with open(directory / "config.json", "w") as f:
        json.dump(SIGLIP_QWEN2_CONFIG, f)
    with open(directory / "generation_config.json", "w") as f:
        json.dump({"eos_token_id": [91]}, f)
    model = load_llava(str(directory))
    assert model.config.eos_token_id == 91  # generation_config.json's, what transformers' generate stops on
    lm = model.language_model
    assert torch.equal(lm.lm_head.weight, lm.model.embed_tokens.weight)
    np.testing.assert_array_equal(lm.model.layers[1].self_attn.k_proj.bias.numpy(), tensors["model.language_model.layers.1.self_attn.k_proj.bias"])
    assert lm.model.layers[0].self_attn.o_proj.bias is None
    tower = model.vision_tower.vision_model
    assert tower.pre_layrnorm is None and not hasattr(tower.embeddings, "class_embedding")
    pixels = torch.randn(2, 3, IMAGE, IMAGE)
    # feature layer -1: the last encoder layer's output as it is (post_layernorm is not applied).
    x = torch.nn.functional.conv2d(pixels, tower.embeddings.patch_embedding.weight, tower.embeddings.patch_embedding.bias, stride=PATCH)
    x = x.flatten(2).transpose(1, 2) + tower.embeddings.position_embedding.weight
    for layer in tower.encoder.layers:
        x = layer(x)
    torch.testing.assert_close(model.image_features(pixels), model.multi_modal_projector(x))
    out = tmp_path / "export"
    paths = export_target(model, str(out))
    for path in paths.values():
        onnx.checker.check_model(path)
    assert describe(paths["vision_encoder"])["outputs"][0]["dims"] == ["num_images", (IMAGE // PATCH) ** 2, D]
    with open(directory / "generation_config.json", "w") as f:
        json.dump({"eos_token_id": [91, 90]}, f)
    with pytest.raises(CheckpointError, match="eos_token_id"):
        load_llava(str(directory))


def test_draft_only_export_replaces_just_the_draft(checkpoints, exports, tmp_path):
    import shutil

    from msd_training.checkpoint_draft import save_draft
    from msd_training.train_draft import new_draft

    out = tmp_path / "model"
    shutil.copytree(exports["root"] / "fp16", out)
    before = {name: (out / "onnx" / name).read_bytes() for name in os.listdir(out / "onnx") if not name.startswith("draft_msd")}
    target = load_llava(checkpoints["old"])
    draft = new_draft(target, decoupled=True, seed=7)
    save_draft(draft, str(tmp_path / "draft"))
    (tmp_path / "draft" / "training.json").write_text(json.dumps({"steps": 12}))
    er.main(["--llava", checkpoints["old"], "--draft", str(tmp_path / "draft"), "--out", str(out), "--draft-only", "--draft-top-k", "5"])

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["drafts"]["msd"]["curriculum"] == "two-stage, 12 steps (msd_training.checkpoint_draft)"
    assert manifest["defaultDraft"] == "msd"
    assert {name: (out / "onnx" / name).read_bytes() for name in before} == before
    # The graph carries the new draft's weights, rounded to fp16 like the target's export.
    round_to_fp16(draft)
    weights = _initializers(str(out / "onnx" / "draft_msd.onnx"))
    fc = draft.fc.weight.detach().numpy()
    assert any(array.shape == fc.T.shape and np.array_equal(array, fc.T) for array in weights.values()), {k: v.shape for k, v in weights.items()}


def test_draft_only_export_refuses_another_checkpoint_or_a_missing_export(checkpoints, exports, tmp_path, capsys):
    import shutil

    out = tmp_path / "model"
    shutil.copytree(exports["root"] / "fp32", out)
    info = json.loads((out / "export_info.json").read_text())
    info["llava"]["text_config"]["hidden_size"] += 1
    (out / "export_info.json").write_text(json.dumps(info))
    assert er.main(["--llava", checkpoints["old"], "--draft", checkpoints["draft"], "--out", str(out), "--draft-only"]) == 1
    assert "is not the checkpoint" in capsys.readouterr().err
    assert er.main(["--llava", checkpoints["old"], "--draft", checkpoints["draft"], "--out", str(tmp_path / "empty"), "--draft-only"]) == 1
    assert "export the target first" in capsys.readouterr().err

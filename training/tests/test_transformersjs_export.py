"""The `export-transformersjs` stage on a tiny random target: the directory has transformers.js's LLaVA
layout, the merged decoder has the input/output names and dims transformers.js feeds and reads, and
its 2D-mask decoder computes what the target's own decoder computes with a 4D causal mask.

No onnxruntime exists in this Python; the ONNX numerics (bit-identical logits, identical greedy
tokens) are checked through onnxruntime-node by packages/msd/bench/check-transformers-js.ts.
"""

from __future__ import annotations

import json
import os
import warnings

import onnx
import pytest
import sentencepiece as spm
import torch
from onnx import TensorProto

from msd_training.__main__ import main
from msd_training.modeling import LlavaForConditionalGeneration, causal_mask
from msd_training.stages import TINY_VISION
from msd_training.train_target import default_config, init_weights
from msd_training.transformersjs_export import MergedDecoder, decoder_io_names

TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
WORDS = "red blue green circle square triangle the a is of what colour shape how many object background".split()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> str:
    """A run directory holding what the stage reads: sp.model and a random tiny target.ckpt."""
    path = tmp_path_factory.mktemp("run")
    lines = [" ".join(WORDS[(i * 5 + j * 3) % len(WORDS)] for j in range(4 + i % 6)) + f" {i}?" for i in range(400)]
    (path / "corpus.txt").write_text("\n".join(lines), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(path / "corpus.txt"),
        model_prefix=str(path / "sp"),
        model_type="bpe",
        vocab_size=400,
        byte_fallback=True,
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    torch.manual_seed(0)
    config = default_config(spm.SentencePieceProcessor(model_file=str(path / "sp.model")), text=TEXT, vision=TINY_VISION)
    model = LlavaForConditionalGeneration(config)
    init_weights(model)
    torch.save({"model": model.state_dict(), "config": config.to_dict(), "step": 0}, str(path / "target.ckpt"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["export-transformersjs", "--run", str(path), "--small"]) == 0
    # Only the vision tower's static shapes and RoPE's constant frequencies may be baked into the trace.
    ours = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning) and w.filename.endswith("transformersjs_export.py")]
    assert not ours, [str(w.message) for w in ours]
    return str(path)


def _dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_directory_layout(run_dir):
    out = os.path.join(run_dir, "model-transformersjs")
    for name in ("config.json", "generation_config.json", "preprocessor_config.json", "processor_config.json", "tokenizer.json", "tokenizer_config.json"):
        assert os.path.exists(os.path.join(out, name)), name
    for name in ("vision_encoder", "embed_tokens", "decoder_model_merged"):
        onnx.checker.check_model(onnx.load(os.path.join(out, "onnx", f"{name}.onnx")))
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert config["model_type"] == "llava" and config["architectures"] == ["LlavaForConditionalGeneration"]
    assert config["text_config"]["head_dim"] == TEXT["hidden_size"] // TEXT["num_attention_heads"]
    assert config["transformers.js_config"]["dtype"] == "fp32"
    with open(os.path.join(out, "processor_config.json")) as f:
        processor = json.load(f)
    # transformers.js expands <image> to (H / patch) * (W / patch) + num_additional_image_tokens positions.
    patches = (config["vision_config"]["image_size"] // processor["patch_size"]) ** 2
    assert patches + processor["num_additional_image_tokens"] == config["image_seq_length"]
    with open(os.path.join(out, "preprocessor_config.json")) as f:
        assert json.load(f)["processor_class"] == "LlavaProcessor"


def test_decoder_names_and_dims(run_dir):
    graph = onnx.load(os.path.join(run_dir, "model-transformersjs", "onnx", "decoder_model_merged.onnx")).graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    expected_inputs, expected_outputs = decoder_io_names(TEXT["num_hidden_layers"])
    assert [i.name for i in inputs] == expected_inputs
    assert [o.name for o in graph.output] == expected_outputs
    assert expected_inputs[:3] == ["inputs_embeds", "attention_mask", "position_ids"] and expected_inputs[-1] == "num_logits_to_keep"
    assert expected_outputs[0] == "logits" and expected_outputs[1:3] == ["present.0.key", "present.0.value"]
    by_name = {i.name: i for i in inputs}
    assert by_name["attention_mask"].type.tensor_type.elem_type == TensorProto.INT64
    assert _dims(by_name["attention_mask"]) == ["batch_size", "total_sequence_length"]
    assert by_name["num_logits_to_keep"].type.tensor_type.elem_type == TensorProto.INT64 and _dims(by_name["num_logits_to_keep"]) == []
    # transformers.js makes the first call's empty past from these dims: every one but batch and past a number.
    head_dim = TEXT["hidden_size"] // TEXT["num_attention_heads"]
    assert _dims(by_name["past_key_values.1.value"]) == ["batch_size", TEXT["num_key_value_heads"], "past_sequence_length", head_dim]
    outputs = {o.name: o for o in graph.output}
    assert _dims(outputs["present.0.key"]) == ["batch_size", TEXT["num_key_value_heads"], "total_sequence_length", head_dim]
    assert _dims(outputs["logits"])[:2] == ["batch_size", "logits_sequence_length"]


def test_merged_decoder_matches_the_target_decoder(run_dir):
    from msd_training.stages import _load_target

    class Args:
        run = run_dir

    model = _load_target(Args)
    lm = model.language_model
    layers = TEXT["num_hidden_layers"]
    merged = MergedDecoder(model).eval()
    torch.manual_seed(1)
    prompt, step = torch.randn(1, 7, TEXT["hidden_size"]), torch.randn(1, 1, TEXT["hidden_size"])
    with torch.no_grad():
        logits, _, presents = lm(prompt, torch.arange(7).view(1, 7), causal_mask(torch.ones(1, 7)))
        empty = [torch.zeros(1, TEXT["num_key_value_heads"], 0, TEXT["hidden_size"] // TEXT["num_attention_heads"]) for _ in range(2 * layers)]
        every_row = merged(prompt, torch.ones(1, 7, dtype=torch.int64), torch.arange(7).view(1, 7), *empty, torch.tensor(0))
        last_row = merged(prompt, torch.ones(1, 7, dtype=torch.int64), torch.arange(7).view(1, 7), *empty, torch.tensor(1))
        assert torch.allclose(every_row[0], logits, atol=1e-5)
        assert torch.allclose(last_row[0], logits[:, -1:], atol=1e-5)
        flat = [t for kv in presents for t in kv]
        for ours, theirs in zip(last_row[1:], flat, strict=True):
            assert torch.allclose(ours, theirs, atol=1e-6)
        # One cached step: the 2D mask covers past + new positions.
        logits2, _, _ = lm(step, torch.tensor([[7]]), torch.zeros(1, 1, 1, 8), presents)
        stepped = merged(step, torch.ones(1, 8, dtype=torch.int64), torch.tensor([[7]]), *flat, torch.tensor(1))
        assert torch.allclose(stepped[0], logits2, atol=1e-5)


def test_from_bundle_needs_no_checkpoint(run_dir, tmp_path):
    """`export-transformersjs --from-bundle DIR`: the bundle's own graphs, a 2D-mask front end on the decoder.

    Its numerics (identical greedy tokens against msd) are checked by packages/msd/bench/check-transformers-js.ts."""
    from msd_training.transformersjs_export import merged_decoder_from_bundle

    assert main(["export-target", "--run", run_dir, "--small"]) == 0
    merged = str(tmp_path / "merged.onnx")
    head_dim = TEXT["hidden_size"] // TEXT["num_attention_heads"]
    merged_decoder_from_bundle(os.path.join(run_dir, "model", "onnx", "decoder_model.onnx"), merged, TEXT["num_key_value_heads"], head_dim)
    graph = onnx.load(merged).graph
    initializers = {i.name for i in graph.initializer}
    by_name = {i.name: i for i in graph.input if i.name not in initializers}
    assert list(by_name)[:3] == ["inputs_embeds", "position_ids", "attention_mask"]
    assert by_name["attention_mask"].type.tensor_type.elem_type == TensorProto.INT64
    assert _dims(by_name["attention_mask"]) == ["batch_size", "total_sequence_length"]
    assert _dims(by_name["past_key_values.0.key"]) == ["batch_size", TEXT["num_key_value_heads"], "past_sequence_length", head_dim]
    # The old 4D input is now computed inside the graph, and nothing reads a graph input by its old name.
    produced = {name for node in graph.node for name in node.output}
    assert "attention_mask_4d" in produced
    assert [o.name for o in graph.output][:1] == ["logits"]
    # The bundle's decoder selects logits rows (`logits_rows`); transformers.js gets every row.
    assert any(i.name == "logits_rows" for i in onnx.load(os.path.join(run_dir, "model", "onnx", "decoder_model.onnx")).graph.input)
    assert "logits_rows" not in by_name
    assert not any("logits_rows" in node.input for node in graph.node)
    assert _dims(graph.output[0])[:2] == ["batch_size", "sequence_length"]

"""Export of the target in transformers.js's LLaVA layout, so a benchmark can run
`@huggingface/transformers`' own `LlavaForConditionalGeneration.generate()` on exactly the weights msd
decodes.

transformers.js (v4, `models/llava` + `modeling_utils.js`) opens three graphs from `<dir>/onnx/`:

* ``vision_encoder.onnx``: ``pixel_values`` -> ``image_features`` (it reshapes them to rows and writes
  them over the image-token positions): the same graph as msd's, projector included.
* ``embed_tokens.onnx``: ``input_ids`` -> ``inputs_embeds``: the same graph as msd's.
* ``decoder_model_merged.onnx``: ``inputs_embeds``, ``attention_mask`` (2D int64, 1 for every real
  position of past + new), ``position_ids``, ``past_key_values.{i}.key/value`` and, when the graph has
  it, ``num_logits_to_keep`` (int64 scalar, 0 = every row) -> ``logits`` and ``present.{i}.key/value``.
  The first call gets *empty* past tensors that transformers.js shapes from the graph's input dims
  (``batch_size`` is resolved, every other symbolic dim becomes 0), so the heads and head-dim axes of
  the past inputs must be fixed numbers.

msd's decoder takes a 4D additive mask instead (what verifying a token tree needs), which transformers.js
cannot feed. Here the graph builds that mask from the 2D one: position ``past + t`` may see keys up to
itself that the 2D mask marks real, and a blocked entry is float32's minimum, as in
`modeling.causal_mask` and @msd/core's `blockedAttention`; the layers are the target's own modules,
so the attention arithmetic is the one msd's decoder does.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable

import torch
from torch import nn

from .modeling import LlavaConfig, LlavaForConditionalGeneration, rope
from .onnx_export import EmbedTokens, VisionEncoder, _export, kv_dynamic_axes, kv_names, store_weights_as_fp16

GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model_merged")


def padding_causal_mask(attention_mask: torch.Tensor, new_length: int) -> torch.Tensor:
    """[B, 1, new, past + new] additive mask from transformers.js's 2D ``attention_mask`` [B, past + new].

    New position ``t`` sits at index ``past + t`` of the sequence and may see every index up to it that
    the 2D mask marks real (1); everything else gets float32's minimum (exp() of it is exactly 0).
    """
    total = attention_mask.shape[1]
    query = torch.arange(new_length).unsqueeze(1) + (total - new_length)
    key = torch.arange(total).unsqueeze(0)
    allowed = (key <= query).unsqueeze(0) & (attention_mask != 0).unsqueeze(1)
    # masked_fill keeps the mask float32 in the graph (a Where on Python scalars exports as double).
    return torch.zeros(allowed.shape).masked_fill(~allowed, torch.finfo(torch.float32).min).unsqueeze(1)


class MergedDecoder(nn.Module):
    """The target's Llama decoder behind transformers.js's ``decoder_model_merged`` inputs and outputs.

    ``forward(inputs_embeds, attention_mask, position_ids, *past_key_values_flat[, num_logits_to_keep])``
    returns ``(logits, *presents_flat)``. With ``num_logits_to_keep`` (what transformers.js sets to 1
    during generation) only the last rows go through ``lm_head``, as in transformers.js's own exports:
    the prefill then skips the vocabulary projection of every prompt row.
    """

    def __init__(self, model: LlavaForConditionalGeneration, logits_to_keep: bool = True):
        super().__init__()
        self.lm = model.language_model
        self.layers = model.config.text_config.num_hidden_layers
        self.logits_to_keep = logits_to_keep

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor, *rest: torch.Tensor) -> tuple:
        past_flat = rest[: 2 * self.layers]
        c = self.lm.config
        new_length = inputs_embeds.shape[1]
        mask = padding_causal_mask(attention_mask, new_length)
        cos, sin = rope(position_ids, c.head_dim, c.rope_theta)
        # LlamaForCausalLM.forward's layer loop, stopped before lm_head so the rows can be chosen first.
        x = inputs_embeds
        presents = []
        for i, layer in enumerate(self.lm.model.layers):
            x, present = layer(x, cos, sin, mask, past_flat[2 * i], past_flat[2 * i + 1])
            presents.extend(present)
        hidden = self.lm.model.norm(x)
        if self.logits_to_keep:
            keep = rest[2 * self.layers]
            first = torch.where(keep > 0, new_length - keep, torch.zeros_like(keep))
            hidden = hidden.index_select(1, torch.arange(first, new_length))
        return (self.lm.lm_head(hidden), *presents)


def decoder_io_names(layers: int, logits_to_keep: bool = True) -> tuple[list[str], list[str]]:
    """Input and output names of ``decoder_model_merged.onnx``, in graph order."""
    inputs = ["inputs_embeds", "attention_mask", "position_ids", *kv_names(layers, "past_key_values")]
    if logits_to_keep:
        inputs.append("num_logits_to_keep")
    return inputs, ["logits", *kv_names(layers, "present")]


def export_graphs(model: LlavaForConditionalGeneration, out_dir: str, logits_to_keep: bool = True, fp16_weights: bool = True) -> dict[str, str]:
    """Writes ``onnx/{vision_encoder,embed_tokens,decoder_model_merged}.onnx`` into ``out_dir``.

    ``fp16_weights`` stores large weights as fp16 + Cast, as the bundled msd model does; with weights
    rounded by `onnx_export.round_to_fp16` first (`stages._load_target` does) the graphs compute the
    same fp32 function either way, at half the size.
    """
    t = model.config.text_config
    v = model.config.vision_config
    paths = {name: os.path.join(out_dir, "onnx", f"{name}.onnx") for name in GRAPHS}
    _export(
        VisionEncoder(model),
        (torch.randn(2, 3, v.image_size, v.image_size),),
        paths["vision_encoder"],
        ["pixel_values"],
        ["image_features"],
        {"pixel_values": {0: "num_images"}, "image_features": {0: "num_images"}},
    )
    _export(
        EmbedTokens(model),
        (torch.tensor([[1, 5, 7]]),),
        paths["embed_tokens"],
        ["input_ids"],
        ["inputs_embeds"],
        {"input_ids": {0: "batch_size", 1: "sequence_length"}, "inputs_embeds": {0: "batch_size", 1: "sequence_length"}},
    )
    # Trace with a non-empty past and two new rows (distinct sizes, so torch keeps the dims apart),
    # keeping one logits row.
    past_len, new_len = 3, 2
    past = [torch.randn(1, t.num_key_value_heads, past_len, t.head_dim) for _ in range(2 * t.num_hidden_layers)]
    args = (torch.randn(1, new_len, t.hidden_size), torch.ones(1, past_len + new_len, dtype=torch.int64), torch.tensor([[past_len, past_len + 1]]), *past)
    if logits_to_keep:
        args = (*args, torch.tensor(1, dtype=torch.int64))
    inputs, outputs = decoder_io_names(t.num_hidden_layers, logits_to_keep)
    axes = {
        "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "logits_sequence_length"},
        **kv_dynamic_axes(t.num_hidden_layers),
    }
    _export(MergedDecoder(model, logits_to_keep), args, paths["decoder_model_merged"], inputs, outputs, axes)
    if fp16_weights:
        for path in paths.values():
            store_weights_as_fp16(path)
    return paths


def _read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def _write_json(path: str, data: dict) -> None:
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def adapt_model_files(config: LlavaConfig, out_dir: str) -> None:
    """Turns the Hugging Face files the toolchain writes for msd (config.json, preprocessor_config.json,
    tokenizer files) into what transformers.js's loaders read.

    * config.json: ``text_config.head_dim`` (transformers.js's normalized Llama config reads it) and a
      ``transformers.js_config`` naming fp32 graphs, so no quantised file names (``*_q4.onnx``) are looked for.
    * processor_config.json, which ``LlavaProcessor`` requires: transformers.js expands ``<image>`` to
      ``(H / patch) * (W / patch) + num_additional_image_tokens`` positions; our projector drops CLS
      already, so that count is 0 (Python transformers would subtract one more for the "default"
      feature strategy; this file is for transformers.js).
    """
    path = os.path.join(out_dir, "config.json")
    data = _read_json(path)
    data["text_config"]["head_dim"] = config.text_config.head_dim
    data["transformers.js_config"] = {"dtype": "fp32"}
    _write_json(path, data)
    _write_json(
        os.path.join(out_dir, "processor_config.json"),
        {
            "processor_class": "LlavaProcessor",
            "image_token": "<image>",
            "patch_size": config.vision_config.patch_size,
            "num_additional_image_tokens": 0,
            "vision_feature_select_strategy": config.vision_feature_select_strategy,
        },
    )


def export_transformersjs(
    model: LlavaForConditionalGeneration, out_dir: str, write_hf_files: Callable[[str], None], logits_to_keep: bool = True
) -> dict[str, str]:
    """The whole directory: the three graphs, the Hugging Face files (written by ``write_hf_files(out_dir)``,
    the toolchain's own writer, so they are the bundle's) and transformers.js's adaptations of them."""
    shutil.rmtree(out_dir, ignore_errors=True)
    paths = export_graphs(model, out_dir, logits_to_keep)
    write_hf_files(out_dir)
    adapt_model_files(model.config, out_dir)
    return paths


def merged_decoder_from_bundle(decoder_path: str, out_path: str, heads: int, head_dim: int) -> None:
    """``decoder_model_merged.onnx`` from the bundle's ``decoder_model.onnx``, without the PyTorch checkpoint.

    The bundled graph takes msd's 4D additive mask; a few nodes in front of it build that mask from
    transformers.js's 2D ``attention_mask`` exactly as `padding_causal_mask` does (position ``past + t``
    sees the real keys up to itself, blocked entries get float32's minimum), and the past inputs get
    the fixed head counts transformers.js shapes its empty first past from. The weights are the
    bundle's own bytes, so `msd bench --transformers-js` can be reproduced from what is committed.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(decoder_path)
    graph = model.graph
    old = next(i for i in graph.input if i.name == "attention_mask")
    inner = "attention_mask_4d"
    for node in graph.node:
        node.input[:] = [inner if name == "attention_mask" else name for name in node.input]
    graph.input.remove(old)
    position = [i.name for i in graph.input].index("position_ids") + 1
    graph.input.insert(position, helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]))

    def constant(name: str, value) -> str:
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    zero, one = constant("tjs_zero", np.int64(0)), constant("tjs_one", np.int64(1))
    axis0, axis1 = constant("tjs_axis0", np.array([0], np.int64)), constant("tjs_axis1", np.array([1], np.int64))
    open_value, blocked = constant("tjs_open", np.float32(0)), constant("tjs_blocked", np.float32(np.finfo(np.float32).min))
    nodes = [
        helper.make_node("Shape", ["attention_mask"], ["tjs_mask_shape"]),
        helper.make_node("Gather", ["tjs_mask_shape", one], ["tjs_total"], axis=0),
        helper.make_node("Shape", ["inputs_embeds"], ["tjs_embeds_shape"]),
        helper.make_node("Gather", ["tjs_embeds_shape", one], ["tjs_new"], axis=0),
        helper.make_node("Sub", ["tjs_total", "tjs_new"], ["tjs_past"]),
        helper.make_node("Range", [zero, "tjs_new", one], ["tjs_rows"]),
        helper.make_node("Add", ["tjs_rows", "tjs_past"], ["tjs_query"]),
        helper.make_node("Unsqueeze", ["tjs_query", axis1], ["tjs_query_column"]),
        helper.make_node("Range", [zero, "tjs_total", one], ["tjs_key"]),
        helper.make_node("Unsqueeze", ["tjs_key", axis0], ["tjs_key_row"]),
        helper.make_node("LessOrEqual", ["tjs_key_row", "tjs_query_column"], ["tjs_causal"]),
        helper.make_node("Unsqueeze", ["tjs_causal", axis0], ["tjs_causal_batch"]),
        helper.make_node("Equal", ["attention_mask", zero], ["tjs_padding"]),
        helper.make_node("Not", ["tjs_padding"], ["tjs_real"]),
        helper.make_node("Unsqueeze", ["tjs_real", axis1], ["tjs_real_rows"]),
        helper.make_node("And", ["tjs_causal_batch", "tjs_real_rows"], ["tjs_allowed"]),
        helper.make_node("Where", ["tjs_allowed", open_value, blocked], ["tjs_mask_3d"]),
        helper.make_node("Unsqueeze", ["tjs_mask_3d", axis1], [inner]),
    ]
    for index, node in enumerate(nodes):
        graph.node.insert(index, node)
    # transformers.js reads a logits row per new position: the graph's row selection gets every row.
    selector = next((i for i in graph.input if i.name == "logits_rows"), None)
    if selector is not None:
        graph.input.remove(selector)
        for node in graph.node:
            node.input[:] = ["tjs_rows" if name == "logits_rows" else name for name in node.input]
        logits = next(o for o in graph.output if o.name == "logits").type.tensor_type.shape.dim[1]
        logits.Clear()
        logits.dim_param = "sequence_length"
    for value in graph.input:
        if value.name.startswith("past_key_values."):
            dims = value.type.tensor_type.shape.dim
            dims[1].ClearField("dim_param")
            dims[1].dim_value = heads
            dims[3].ClearField("dim_param")
            dims[3].dim_value = head_dim
    onnx.checker.check_model(model)
    onnx.save(model, out_path)


def export_transformersjs_from_bundle(bundle_dir: str, out_dir: str) -> dict[str, str]:
    """The transformers.js directory from a bundled msd model directory alone (what `packages/tiny-llava/model` holds)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(os.path.join(out_dir, "onnx"))
    for name in os.listdir(bundle_dir):
        if name.endswith(".json") and name != "manifest.json":
            shutil.copy(os.path.join(bundle_dir, name), os.path.join(out_dir, name))
    paths = {name: os.path.join(out_dir, "onnx", f"{name}.onnx") for name in GRAPHS}
    for name in ("vision_encoder", "embed_tokens"):
        shutil.copy(os.path.join(bundle_dir, "onnx", f"{name}.onnx"), paths[name])
    config = LlavaConfig.from_dict(_read_json(os.path.join(bundle_dir, "config.json")))
    t = config.text_config
    merged_decoder_from_bundle(os.path.join(bundle_dir, "onnx", "decoder_model.onnx"), paths["decoder_model_merged"], t.num_key_value_heads, t.head_dim)
    adapt_model_files(config, out_dir)
    return paths

"""ONNX export of the target (vision encoder, token embedding, decoder) and of MSD drafts.

Tensor names follow transformers.js's vision-language layout where they can
(`pixel_values` -> `image_features`, `input_ids` -> `inputs_embeds`, `past_key_values.{i}.key` ->
`present.{i}.key`); the decoder additionally takes a 4D additive `attention_mask` and explicit
`position_ids`, which is what verifying a token tree needs, and returns `last_hidden_state`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from .logits_rows import add_logits_rows_to_file
from .modeling import LlavaForConditionalGeneration, MsdDraft

# onnx is imported inside the functions that use it: training stages run on training/.venv, which has
# no onnx, and import this module for round_to_fp16.

OPSET = 17


class VisionEncoder(nn.Module):
    def __init__(self, model: LlavaForConditionalGeneration):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model.image_features(pixel_values)


class EmbedTokens(nn.Module):
    def __init__(self, model: LlavaForConditionalGeneration):
        super().__init__()
        self.embed = model.language_model.model.embed_tokens

    def forward(self, input_ids):
        return self.embed(input_ids)


class Decoder(nn.Module):
    def __init__(self, model: LlavaForConditionalGeneration):
        super().__init__()
        self.lm = model.language_model
        self.layers = model.config.text_config.num_hidden_layers

    def forward(self, inputs_embeds, position_ids, attention_mask, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(self.layers)]
        logits, hidden, presents = self.lm(inputs_embeds, position_ids, attention_mask, past)
        return (logits, hidden, *[t for kv in presents for t in kv])


class DraftGraph(nn.Module):
    """The draft step: layer output (next hidden state), top-k log-probs and ids, present KV."""

    def __init__(self, draft: MsdDraft, top_k: int):
        super().__init__()
        self.draft, self.top_k = draft, top_k

    def forward(self, input_ids, hidden_states, image_embeds, image_mask, position_ids, attention_mask, past_key, past_value, topk_rows):
        # Output only for the rows asked for: after a prefill or an update only the last row's is used,
        # and the queries, MLP and vocabulary projection of every prompt row would cost 3x the rest of
        # the call (a 165-row prompt pass: 5.6 -> 1.9 ms). Every row still enters the KV cache.
        out, (key, value) = self.draft(input_ids, hidden_states, image_embeds, image_mask, position_ids, attention_mask, (past_key, past_value), topk_rows)
        logprobs = torch.log_softmax(self.draft.lm_head(out), dim=-1)
        values, indices = torch.topk(logprobs, self.top_k, dim=-1)
        return out, values, indices, key, value


def kv_names(layers: int, prefix: str) -> list[str]:
    return [f"{prefix}.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]


def kv_dynamic_axes(layers: int) -> dict[str, dict[int, str]]:
    """Dynamic axes of every past and present KV tensor: batch, and the sequence (past, or past + new)."""
    axes = {name: {0: "batch_size", 2: "past_sequence_length"} for name in kv_names(layers, "past_key_values")}
    axes.update({name: {0: "batch_size", 2: "total_sequence_length"} for name in kv_names(layers, "present")})
    return axes


def _export(module: nn.Module, args: tuple, path: str, inputs: list[str], outputs: list[str], dynamic_axes: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(
            module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True
        )
        results = module(*args)
    _pin_static_output_dims(path, outputs, [r.shape for r in (results if isinstance(results, tuple) else (results,))], dynamic_axes)


def _pin_static_output_dims(path: str, names: list[str], shapes: list, dynamic_axes: dict) -> None:
    """torch names some static dims symbolically (e.g. the patch count after dropping CLS); pin every
    dim that is not declared dynamic to its size, so the manifest states what onnxruntime infers."""
    import onnx

    model = onnx.load(path)
    for output, shape in zip(model.graph.output, shapes, strict=True):
        dynamic = dynamic_axes.get(output.name, {})
        for axis, dim in enumerate(output.type.tensor_type.shape.dim):
            if axis not in dynamic:
                dim.Clear()
                dim.dim_value = int(shape[axis])
    onnx.save(model, path)


def export_target(model: LlavaForConditionalGeneration, out_dir: str) -> dict[str, str]:
    config = model.config
    t = config.text_config
    v = config.vision_config
    onnx_dir = os.path.join(out_dir, "onnx")
    paths = {name: os.path.join(onnx_dir, f"{name}.onnx") for name in ("vision_encoder", "embed_tokens", "decoder_model")}
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
    past_len, new_len = 3, 2
    past = [torch.randn(1, t.num_key_value_heads, past_len, t.head_dim) for _ in range(2 * t.num_hidden_layers)]
    inputs = ["inputs_embeds", "position_ids", "attention_mask", *kv_names(t.num_hidden_layers, "past_key_values")]
    outputs = ["logits", "last_hidden_state", *kv_names(t.num_hidden_layers, "present")]
    axes = {
        "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 2: "sequence_length", 3: "total_sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
        "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
        **kv_dynamic_axes(t.num_hidden_layers),
    }
    args = (torch.randn(1, new_len, t.hidden_size), torch.tensor([[past_len, past_len + 1]]), torch.zeros(1, 1, new_len, past_len + new_len), *past)
    _export(Decoder(model), args, paths["decoder_model"], inputs, outputs, axes)
    add_logits_rows_to_file(paths["decoder_model"])
    return paths


def export_draft(draft: MsdDraft, path: str, top_k: int) -> None:
    """The draft step as ONNX: written with onnxruntime's fused operators where the draft's shape allows
    (draft_graph.py, fewer kernels per call), else traced from `DraftGraph`; the same function either way."""
    from .draft_graph import build_draft_graph, supports

    if supports(draft):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        build_draft_graph(draft, path, top_k, OPSET)
        return
    t = draft.config.text_config
    d = t.hidden_size
    past_len, new_len = 3, 2
    args = (
        torch.tensor([[5, 6]]),
        torch.randn(1, new_len, d),
        torch.randn(1, new_len, d),
        torch.tensor([[0.0, 1.0]]),
        torch.tensor([[past_len, past_len + 1]]),
        torch.zeros(1, 1, new_len, past_len + new_len),
        torch.randn(1, t.num_key_value_heads, past_len, t.head_dim),
        torch.randn(1, t.num_key_value_heads, past_len, t.head_dim),
        # One row, not two: a trace example of the same length as the sequence lets torch merge the dims.
        torch.tensor([1]),
    )
    inputs = [
        "input_ids",
        "hidden_states",
        "image_embeds",
        "image_mask",
        "position_ids",
        "attention_mask",
        "past_key_values.0.key",
        "past_key_values.0.value",
        "topk_rows",
    ]
    outputs = ["last_hidden_state", "topk_logprobs", "topk_ids", "present.0.key", "present.0.value"]
    seq = {0: "batch_size", 1: "sequence_length"}
    axes = {name: seq for name in ("input_ids", "hidden_states", "image_embeds", "image_mask", "position_ids")}
    # last_hidden_state has the rows of topk_rows: runners tell this layout by that dim's name.
    axes["last_hidden_state"] = {0: "batch_size", 1: "topk_row_count"}
    axes["topk_rows"] = {0: "topk_row_count"}
    axes["topk_logprobs"] = axes["topk_ids"] = {0: "batch_size", 1: "topk_row_count"}
    axes["attention_mask"] = {0: "batch_size", 2: "sequence_length", 3: "total_sequence_length"}
    axes.update(kv_dynamic_axes(1))
    _export(DraftGraph(draft, top_k), args, path, inputs, outputs, axes)


def store_weights_as_fp16(path: str, min_elements: int = 1024) -> None:
    """Halve the file: large float initialisers become fp16 followed by a Cast back to float32.

    onnxruntime folds the casts when the session loads, so the graph computes in fp32 with the
    fp16-rounded weights; round the PyTorch weights the same way (`round_to_fp16`) before export
    and both sides compute the same function.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(path)
    graph = model.graph
    casts = []
    for init in graph.initializer:
        # int8 weights' scales stay exact (quantize.py's reference uses them as they are).
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements or init.name.endswith("_scale"):
            continue
        array = numpy_helper.to_array(init).astype(np.float16)
        name = init.name
        init.CopyFrom(numpy_helper.from_array(array, name + "_fp16"))
        casts.append(helper.make_node("Cast", [name + "_fp16"], [name], to=TensorProto.FLOAT, name=f"cast_{name}"))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, path)


def round_to_fp16(module: nn.Module, min_elements: int = 1024) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.numel() >= min_elements:
                parameter.copy_(parameter.half().float())


def describe(path: str) -> dict:
    """Inputs and outputs with their symbolic dims and dtypes, as the manifest states them."""
    import onnx
    from onnx import TensorProto

    model = onnx.load(path, load_external_data=False)
    dtype = {TensorProto.FLOAT: "float32", TensorProto.INT64: "int64", TensorProto.FLOAT16: "float16", TensorProto.INT32: "int32"}

    def io(values: Iterable) -> list[dict]:
        out = []
        for value in values:
            tensor = value.type.tensor_type
            dims = [d.dim_param if d.dim_param else int(d.dim_value) for d in tensor.shape.dim]
            out.append({"name": value.name, "dtype": dtype[tensor.elem_type], "dims": dims})
        return out

    initializers = {i.name for i in model.graph.initializer}
    return {"inputs": io(v for v in model.graph.input if v.name not in initializers), "outputs": io(model.graph.output)}


def write_parity_case(out_dir: str, name: str, feeds: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    """Inputs and PyTorch outputs as raw little-endian files + JSON, for the onnxruntime-node parity check."""
    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)
    index = {"inputs": {}, "expected": {}}
    for section, tensors in (("inputs", feeds), ("expected", expected)):
        for key, array in tensors.items():
            file = f"{section}-{key}.bin"
            array = np.ascontiguousarray(array)
            array.tofile(os.path.join(case_dir, file))
            index[section][key] = {"file": file, "dtype": str(array.dtype), "dims": list(array.shape)}
    with open(os.path.join(case_dir, "case.json"), "w") as f:
        json.dump(index, f, indent=1)

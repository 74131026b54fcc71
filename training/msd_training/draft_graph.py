"""A draft step written directly as an ONNX graph of onnxruntime's fused operators.

Why not `torch.onnx.export`: a draft call over one row is bound by per-kernel costs, not arithmetic,
and the traced graph runs 54 kernels after onnxruntime's optimisation (reshapes, transposes, the
rotation as a MatMul, the mask and softmax one by one). Written with `com.microsoft`'s
`RotaryEmbedding`, `MultiHeadAttention` and `SkipSimplifiedLayerNormalization` it ran 29 (31 since the
cache moved into rows, below). Measured on the 2-core CPU in one `msd bench` run (`detailed`, 20 prompts
x 3 rounds): draft calls 45.8 against 47.9 ms per answer, the prompt pass 2.8 against 3.2 ms.

Same function as `onnx_export.DraftGraph` (the parity cases check it against the PyTorch module):
every row enters the KV cache, and queries, MLP and the top-k run for `topk_rows` only.
`MultiHeadAttention` needs as many key/value heads as query heads, so grouped-query drafts (Qwen2,
Llama 3 sizes) keep the traced graph (`supports`).

The KV cache is laid out in rows, one per position (`[batch, seq, heads * head_dim]`, not the traced
graph's `[batch, heads, seq, head_dim]`), and the graph also returns the new positions' rows
(`present_rows.0.key` / `.value`). A caller on the CPU keeps the cache in one growing buffer, appends
those rows and passes a view of it back: it never fetches `present.*`, whose copy out of onnxruntime
and garbage cost more than the draft's arithmetic (the cache is about 450 KB at 220 positions, against
a few KB of new rows). A caller on a GPU keeps `present.*` on the device as before.
"""

from __future__ import annotations

import numpy as np
import torch

from .modeling import MsdDraft

MICROSOFT = "com.microsoft"


def supports(draft: MsdDraft) -> bool:
    """Whether this draft's layer maps onto the fused operators (one KV head per query head)."""
    t = draft.config.text_config
    return t.num_key_value_heads == t.num_attention_heads and t.head_dim * t.num_attention_heads == t.hidden_size


def build_draft_graph(draft: MsdDraft, path: str, top_k: int, opset: int) -> None:
    """Writes the draft step to `path` (float32 weights; quantize.py and store_weights_as_fp16 run after)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if not supports(draft):
        raise ValueError("build_draft_graph needs num_key_value_heads == num_attention_heads; export this draft with torch")
    t = draft.config.text_config
    d, heads, head_dim = t.hidden_size, t.num_attention_heads, t.head_dim
    layer = draft.layers[0]
    attention, mlp = layer.self_attn, layer.mlp
    initializers: list = []

    def constant(name: str, array) -> str:
        value = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else array
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def transposed(name: str, linear) -> str:
        # MatMul weights are [in, out]; the names stay out of draft_from_bundle's "draft." namespace,
        # which finds these by the node reading them, as it does in traced graphs.
        return constant(f"matmul::{name}", linear.weight.detach().T)

    node = helper.make_node
    nodes = [
        node("Gather", [constant("draft.embed_tokens.weight", draft.embed_tokens.weight), "input_ids"], ["token_embeds"], name="/draft/embed_tokens/Gather"),
        node("Unsqueeze", ["image_mask", constant("axes_last", np.array([2], np.int64))], ["mask"], name="/draft/Unsqueeze"),
    ]
    fc = [transposed("fc", draft.fc), constant("draft.fc.bias", draft.fc.bias)]
    if draft.config.decoupled:
        # x = fc([embed, f]) where the next token is text, the projector output where it is an image patch.
        nodes += [
            node("Concat", ["token_embeds", "hidden_states"], ["fc_input"], axis=2, name="/draft/Concat"),
            node("MatMul", ["fc_input", fc[0]], ["fc_product"], name="/draft/fc/MatMul"),
            node("Add", ["fc_product", fc[1]], ["fused"], name="/draft/fc/Add"),
            node("Sub", ["image_embeds", "fused"], ["image_offset"], name="/draft/Sub"),
            node("Mul", ["mask", "image_offset"], ["masked_offset"], name="/draft/Mul"),
            node("Add", ["fused", "masked_offset"], ["x"], name="/draft/Add"),
        ]
    else:
        # Ablation: the image patch stands in for the token's embedding, and both go through fc.
        nodes += [
            node("Sub", ["image_embeds", "token_embeds"], ["image_offset"], name="/draft/Sub"),
            node("Mul", ["mask", "image_offset"], ["masked_offset"], name="/draft/Mul"),
            node("Add", ["token_embeds", "masked_offset"], ["next_embeds"], name="/draft/Add"),
            node("Concat", ["next_embeds", "hidden_states"], ["fc_input"], axis=2, name="/draft/Concat"),
            node("MatMul", ["fc_input", fc[0]], ["fc_product"], name="/draft/fc/MatMul"),
            node("Add", ["fc_product", fc[1]], ["x"], name="/draft/fc/Add"),
        ]
    # Rotary tables over every position the model takes: constant subgraphs, folded when the session loads.
    inv_freq = 1.0 / (t.rope_theta ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    nodes += [
        node("Cast", [constant("positions", np.arange(t.max_position_embeddings, dtype=np.int64).reshape(-1, 1))], ["positions_float"], to=TensorProto.FLOAT),
        node("Mul", ["positions_float", constant("inv_freq", inv_freq.reshape(1, -1).astype(np.float32))], ["angles"]),
        node("Cos", ["angles"], ["cos_cache"]),
        node("Sin", ["angles"], ["sin_cache"]),
        node("Gather", ["x", "topk_rows"], ["x_rows"], axis=1, name="/draft/rows/Gather"),
        node("Gather", ["position_ids", "topk_rows"], ["position_rows"], axis=1),
        node("Gather", ["attention_mask", "topk_rows"], ["mask_rows_shared"], axis=2),
        # One mask row set per head: onnxruntime-web's WebGPU MultiHeadAttention takes attention_bias
        # as [batch, heads, rows, total] only, without broadcasting the heads.
        node("Expand", ["mask_rows_shared", constant("per_head", np.array([1, heads, 1, 1], np.int64))], ["mask_rows"]),
    ]
    projections = {}
    # The new positions' value rows are an output as they come from the projection; key rows after rotation.
    finals = {"q": "q_projected", "k": "k_projected", "v": "present_rows.0.value"}
    for name, source in (("q", "x_rows"), ("k", "x"), ("v", "x")):
        linear = getattr(attention, f"{name}_proj")
        scope = f"/draft/layers.0/self_attn/{name}_proj"
        product = f"{name}_product" if linear.bias is not None else finals[name]
        nodes.append(node("MatMul", [source, transposed(f"{name}_proj", linear)], [product], name=f"{scope}/MatMul"))
        if linear.bias is not None:
            nodes.append(node("Add", [product, constant(f"draft.layers.0.self_attn.{name}_proj.bias", linear.bias)], [finals[name]], name=f"{scope}/Add"))
        projections[name] = finals[name]
    nodes += [
        node("RotaryEmbedding", [projections["q"], "position_rows", "cos_cache", "sin_cache"], ["q"], domain=MICROSOFT, num_heads=heads, interleaved=0),
        node(
            "RotaryEmbedding",
            [projections["k"], "position_ids", "cos_cache", "sin_cache"],
            ["present_rows.0.key"],
            domain=MICROSOFT,
            num_heads=heads,
            interleaved=0,
        ),
        node("Concat", ["past_key_values.0.key", "present_rows.0.key"], ["present.0.key"], axis=1, name="/draft/cache/key/Concat"),
        node("Concat", ["past_key_values.0.value", "present_rows.0.value"], ["present.0.value"], axis=1, name="/draft/cache/value/Concat"),
        # Keys and values in rows (BSNH), no past: the cache is already joined above.
        node("MultiHeadAttention", ["q", "present.0.key", "present.0.value", "", "", "mask_rows"], ["attended"], domain=MICROSOFT, num_heads=heads),
        node("MatMul", ["attended", transposed("o_proj", attention.o_proj)], ["attention_out"], name="/draft/layers.0/self_attn/o_proj/MatMul"),
        # Residual sum and the post-attention RMSNorm in one kernel: outputs 0 (normed) and 3 (the sum).
        node(
            "SkipSimplifiedLayerNormalization",
            ["attention_out", "x_rows", constant("draft.layers.0.post_attention_layernorm.weight", layer.post_attention_layernorm.weight)],
            ["normed", "", "", "residual"],
            domain=MICROSOFT,
            epsilon=float(layer.post_attention_layernorm.eps),
        ),
        node("MatMul", ["normed", transposed("gate_proj", mlp.gate_proj)], ["gate"], name="/draft/layers.0/mlp/gate_proj/MatMul"),
        node("MatMul", ["normed", transposed("up_proj", mlp.up_proj)], ["up"], name="/draft/layers.0/mlp/up_proj/MatMul"),
        # SiLU: QuickGelu is x * sigmoid(alpha * x).
        node("QuickGelu", ["gate"], ["gate_silu"], domain=MICROSOFT, alpha=1.0),
        node("Mul", ["gate_silu", "up"], ["gated"]),
        node("MatMul", ["gated", transposed("down_proj", mlp.down_proj)], ["mlp_out"], name="/draft/layers.0/mlp/down_proj/MatMul"),
        node("Add", ["residual", "mlp_out"], ["last_hidden_state"], name="/draft/layers.0/Add_1"),
        node("MatMul", ["last_hidden_state", transposed("lm_head", draft.lm_head)], ["logits"], name="/lm_head/MatMul"),
        node("LogSoftmax", ["logits"], ["logprobs"], axis=-1),
        node("TopK", ["logprobs", constant("top_k", np.array([top_k], np.int64))], ["topk_logprobs", "topk_ids"], axis=-1),
    ]
    kv = t.num_key_value_heads

    def value(name: str, dtype: int, dims: list) -> object:
        return helper.make_tensor_value_info(name, dtype, dims)

    inputs = [
        value("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        value("hidden_states", TensorProto.FLOAT, ["batch_size", "sequence_length", d]),
        value("image_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", d]),
        value("image_mask", TensorProto.FLOAT, ["batch_size", "sequence_length"]),
        value("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
        value("attention_mask", TensorProto.FLOAT, ["batch_size", 1, "sequence_length", "total_sequence_length"]),
        value("past_key_values.0.key", TensorProto.FLOAT, ["batch_size", "past_sequence_length", kv * head_dim]),
        value("past_key_values.0.value", TensorProto.FLOAT, ["batch_size", "past_sequence_length", kv * head_dim]),
        value("topk_rows", TensorProto.INT64, ["topk_row_count"]),
    ]
    outputs = [
        value("last_hidden_state", TensorProto.FLOAT, ["batch_size", "topk_row_count", d]),
        value("topk_logprobs", TensorProto.FLOAT, ["batch_size", "topk_row_count", top_k]),
        value("topk_ids", TensorProto.INT64, ["batch_size", "topk_row_count", top_k]),
        value("present.0.key", TensorProto.FLOAT, ["batch_size", "total_sequence_length", kv * head_dim]),
        value("present.0.value", TensorProto.FLOAT, ["batch_size", "total_sequence_length", kv * head_dim]),
        value("present_rows.0.key", TensorProto.FLOAT, ["batch_size", "sequence_length", kv * head_dim]),
        value("present_rows.0.value", TensorProto.FLOAT, ["batch_size", "sequence_length", kv * head_dim]),
    ]
    graph = helper.make_graph(nodes, "msd_draft", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(MICROSOFT, 1)], producer_name="msd_training")
    onnx.checker.check_model(model)
    onnx.save(model, path)


def rows(cache: np.ndarray) -> np.ndarray:
    """`[batch, heads, seq, head_dim]` (the traced graph's and PyTorch's cache) as rows `[batch, seq, heads * head_dim]`."""
    batch, heads, length, head_dim = cache.shape
    return np.ascontiguousarray(cache.transpose(0, 2, 1, 3).reshape(batch, length, heads * head_dim))


def exported_case(draft: MsdDraft, feeds: dict, expected: dict) -> tuple[dict, dict]:
    """A draft parity case computed with PyTorch, in the layout of the graph `export_draft` writes for
    `draft`: rows for a fused graph, unchanged for a traced one (grouped-query drafts)."""
    return row_layout_case(feeds, expected) if supports(draft) else (feeds, expected)


def row_layout_case(feeds: dict, expected: dict) -> tuple[dict, dict]:
    """A draft parity case computed with PyTorch's cache layout, in this graph's: past and present as rows,
    and the new positions' rows after the outputs (the graph's output order)."""
    feeds = {name: rows(array) if name.startswith("past_key_values.") else array for name, array in feeds.items()}
    past = feeds["past_key_values.0.key"].shape[1]
    expected = {name: rows(array) if name.startswith("present.") else array for name, array in expected.items()}
    for kind in ("key", "value"):
        expected[f"present_rows.0.{kind}"] = np.ascontiguousarray(expected[f"present.0.{kind}"][:, past:])
    return feeds, expected

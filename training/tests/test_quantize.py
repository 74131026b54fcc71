"""int8 draft weights: the rewritten graph is valid, and the PyTorch reference of its arithmetic stays
close to the float model (the exact ONNX-vs-reference parity runs in the TypeScript tests)."""

import copy

import numpy as np
import onnx
import torch

from msd_training.modeling import DraftConfig, MsdDraft, TextConfig, causal_mask
from msd_training.onnx_export import export_draft
from msd_training.quantize import fake_quantize_linear, quantize_matmuls, quantize_weight


def test_quantize_weight_is_symmetric_per_column():
    weight = np.array([[0.5, -2.0], [-0.25, 1.0]], np.float32)
    quantized, scale = quantize_weight(weight)
    assert quantized.dtype == np.int8 and scale.shape == (2,)
    assert np.allclose(scale, [0.5 / 127, 2.0 / 127])
    assert quantized[0, 0] == 127 and quantized[0, 1] == -127
    assert np.allclose(quantized * scale, weight, atol=scale.max() / 2)


def _tiny_draft() -> MsdDraft:
    torch.manual_seed(0)
    text = TextConfig(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2)
    draft = MsdDraft(DraftConfig(text_config=text))
    for p in draft.parameters():
        torch.nn.init.normal_(p, std=0.1)
    return draft


def test_every_weight_matmul_becomes_int8(tmp_path):
    draft = _tiny_draft()
    path = str(tmp_path / "draft.onnx")
    export_draft(draft, path, top_k=4)
    replaced = quantize_matmuls(path)
    model = onnx.load(path)
    ops = [node.op_type for node in model.graph.node]
    # lm_head, gate_proj, up_proj; fc, the attention projections and down_proj stay float
    assert replaced == 3 and ops.count("DynamicQuantizeMatMul") == 3
    quantized = {node.name for node in model.graph.node if node.op_type == "DynamicQuantizeMatMul"}
    assert all(any(f"/{name}/" in n for name in ("lm_head", "gate_proj", "up_proj")) for n in quantized)
    assert sum(node.op_type == "MatMul" and node.input[1] in {i.name for i in model.graph.initializer} for node in model.graph.node) == 6
    assert any(opset.domain == "com.microsoft" for opset in model.opset_import)


def test_fake_quantized_draft_stays_close_to_float():
    draft = _tiny_draft()
    quantized = copy.deepcopy(draft)
    fake_quantize_linear(quantized)
    d = draft.config.text_config.hidden_size
    inputs = (
        torch.tensor([[3, 4, 5]]),
        torch.randn(1, 3, d),
        torch.zeros(1, 3, d),
        torch.zeros(1, 3),
        torch.arange(3).view(1, 3),
        causal_mask(torch.ones(1, 3)),
    )
    with torch.no_grad():
        exact, _ = draft(*inputs)
        approx, _ = quantized(*inputs)
    assert not torch.equal(exact, approx)
    assert float((exact - approx).abs().max() / exact.abs().max()) < 0.05

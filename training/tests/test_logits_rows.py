"""`add_logits_rows`: the decoder's logits for the rows asked for, everything else as it was."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from msd_training.logits_rows import INPUT, add_logits_rows, add_logits_rows_to_file, has_logits_rows  # noqa: E402

HIDDEN, VOCAB = 8, 16


def _decoder(fp16_weight: bool) -> onnx.ModelProto:
    """A stand-in decoder: embeds -> Tanh (the 'layers') -> hidden output and lm_head MatMul -> logits."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((HIDDEN, VOCAB)).astype(np.float16 if fp16_weight else np.float32)
    nodes = [helper.make_node("Tanh", ["inputs_embeds"], ["last_hidden_state"])]
    if fp16_weight:
        nodes.append(helper.make_node("Cast", ["lm_head.weight"], ["lm_head_fp32"], to=TensorProto.FLOAT))
        nodes.append(helper.make_node("MatMul", ["last_hidden_state", "lm_head_fp32"], ["logits"], name="/lm_head/MatMul"))
    else:
        nodes.append(helper.make_node("MatMul", ["last_hidden_state", "lm_head.weight"], ["logits"], name="/lm_head/MatMul"))
    graph = helper.make_graph(
        nodes,
        "decoder",
        [helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", HIDDEN])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", VOCAB]),
            helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch_size", "sequence_length", HIDDEN]),
        ],
        [numpy_helper.from_array(weight, "lm_head.weight")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("fp16_weight", [False, True])
def test_the_projection_reads_the_selected_rows(fp16_weight):
    # No onnxruntime (nor onnx.reference) in this Python: the structure is checked here, and
    # onnxruntime-node runs the bundled decoder's `decoder_model_last` parity case (last row only)
    # in packages/tiny-llava/test/model-files.test.ts.
    model = _decoder(fp16_weight)
    assert add_logits_rows(model)
    onnx.checker.check_model(model)
    assert has_logits_rows(model)
    nodes = {node.name: node for node in model.graph.node}
    gather = nodes["/logits_rows/Gather"]
    assert list(gather.input) == ["last_hidden_state", INPUT]
    assert helper.get_attribute_value(gather.attribute[0]) == 1
    assert nodes["/lm_head/MatMul"].input[0] == gather.output[0]
    # The hidden states still cover every position: the draft reads them all.
    assert [o.name for o in model.graph.output] == ["logits", "last_hidden_state"]
    assert any(node.op_type == "Tanh" and node.output[0] == "last_hidden_state" for node in model.graph.node)
    selector = next(i for i in model.graph.input if i.name == INPUT)
    assert selector.type.tensor_type.elem_type == TensorProto.INT64
    dims = [d.dim_param or d.dim_value for d in next(o for o in model.graph.output if o.name == "logits").type.tensor_type.shape.dim]
    assert dims == ["batch_size", "logits_row_count", VOCAB]


def test_adding_twice_changes_nothing(tmp_path):
    path = str(tmp_path / "decoder_model.onnx")
    onnx.save(_decoder(False), path)
    assert add_logits_rows_to_file(path)
    before = open(path, "rb").read()
    assert not add_logits_rows_to_file(path)
    assert open(path, "rb").read() == before


def test_a_graph_whose_logits_no_matmul_produces_is_refused():
    model = _decoder(False)
    for node in model.graph.node:
        if node.op_type == "MatMul":
            node.op_type, node.name = "Add", "/lm_head/Add"
            break
    with pytest.raises(ValueError, match="no MatMul produces"):
        add_logits_rows(model)

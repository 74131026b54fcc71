"""The decoder's vocabulary projection for the rows asked for (`logits_rows`), not for every new position.

A prefill needs the logits of its last position only, but the hidden state of every position (the
draft reads them all). Over a 165-position prompt of the bundled model the `lm_head` costs 1.9 ms and
the logits 2.6 MB that onnxruntime-node copies out; for llava-1.5-7b (vocabulary 32064, about 600
prompt positions) it is 157 GFLOP and 77 MB. A tree's verification still asks for every row.

`add_logits_rows` edits an exported graph in place of re-tracing it: one `Gather` along the sequence
axis in front of the projection, and one int64 input `logits_rows` `[logits_row_count]`. Every other
node and weight stays as it was, so a bundle gains the input without changing what it computes for the
rows it returns. msd feeds the input when the graph has it (`OnnxTargetRunner`); graphs without it
still run, returning every row.
"""

from __future__ import annotations

INPUT = "logits_rows"
_PASS_THROUGH = ("Cast", "Identity")


def _projection(graph, producers: dict):
    """The MatMul (or Gemm) that produces the `logits` output, through any Cast or Identity after it."""
    name = "logits"
    while name in producers:
        node = producers[name]
        if node.op_type in ("MatMul", "Gemm"):
            return node
        if node.op_type not in _PASS_THROUGH:
            break
        name = node.input[0]
    raise ValueError(f"no MatMul produces the decoder's logits (found {producers.get(name).op_type if name in producers else 'a graph input'})")


def _is_weight(graph, producers: dict, name: str) -> bool:
    """An initializer, or an initializer through Cast nodes (weights stored as fp16)."""
    initializers = {tensor.name for tensor in graph.initializer}
    while name in producers and producers[name].op_type in _PASS_THROUGH:
        name = producers[name].input[0]
    return name in initializers or (name in producers and producers[name].op_type == "Constant")


def has_logits_rows(path_or_model) -> bool:
    """Whether a decoder graph (a path or a loaded ModelProto) already takes `logits_rows`."""
    import onnx

    model = onnx.load(path_or_model, load_external_data=False) if isinstance(path_or_model, str) else path_or_model
    return any(value.name == INPUT for value in model.graph.input)


def add_logits_rows(model) -> bool:
    """Adds `logits_rows` to a decoder ModelProto in place; returns False when it already has it.

    The `logits` output's sequence dim becomes `logits_row_count`. Raises ValueError when no MatMul
    with a weight operand produces the logits.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    if has_logits_rows(model):
        return False
    producers = {output: node for node in graph.node for output in node.output}
    projection = _projection(graph, producers)
    operands = [name for name in projection.input[:2] if not _is_weight(graph, producers, name)]
    if len(operands) != 1:
        raise ValueError(f"the logits projection {projection.name!r} has {len(operands)} activation operands; expected one beside its weight")
    hidden = operands[0]
    selected = f"{hidden}_logits_rows"
    gather = helper.make_node("Gather", [hidden, INPUT], [selected], axis=1, name="/logits_rows/Gather")
    projection.input[list(projection.input).index(hidden)] = selected
    graph.node.insert(list(graph.node).index(projection), gather)
    graph.input.append(helper.make_tensor_value_info(INPUT, TensorProto.INT64, ["logits_row_count"]))
    logits = next(output for output in graph.output if output.name == "logits")
    sequence = logits.type.tensor_type.shape.dim[1]
    sequence.Clear()
    sequence.dim_param = "logits_row_count"
    return True


def add_logits_rows_to_file(path: str) -> bool:
    """`add_logits_rows` on a graph file (external data, if any, stays where it is); returns whether it changed."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    if not add_logits_rows(model):
        return False
    onnx.save(model, path)
    onnx.checker.check_model(path)
    return True

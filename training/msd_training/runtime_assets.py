"""Small helper graphs @msd/runtime ships: `gather_sequence.onnx` gathers a KV tensor
[batch, heads, seq, head_dim] along the sequence axis on whatever device it lives on, so a verified
tree's accepted path is kept without moving the cache to JavaScript.

    /usr/bin/python3 -m msd_training.runtime_assets packages/runtime/assets
"""

from __future__ import annotations

import os
import sys

import onnx
from onnx import TensorProto, helper


def gather_sequence_model() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "heads", "sequence", "head_dim"])
    indices = helper.make_tensor_value_info("indices", TensorProto.INT64, ["kept"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "heads", "kept", "head_dim"])
    node = helper.make_node("Gather", ["x", "indices"], ["y"], axis=2)
    graph = helper.make_graph([node], "gather_sequence", [x, indices], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="msd")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    onnx.save(gather_sequence_model(), os.path.join(out_dir, "gather_sequence.onnx"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

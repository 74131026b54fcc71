"""A draft step asked for some rows only (`rows`, the exported graph's `topk_rows`) gives exactly those
rows of the full step's output, and the same KV for every row."""

import torch

from msd_training.modeling import DraftConfig, MsdDraft, TextConfig, causal_mask


def test_selected_rows_match_the_full_step():
    torch.manual_seed(0)
    text = TextConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2)
    for decoupled in (True, False):
        draft = MsdDraft(DraftConfig(text_config=text, decoupled=decoupled)).eval()
        ids = torch.randint(0, 50, (1, 7))
        hidden = torch.randn(1, 7, 32)
        image = torch.randn(1, 7, 32) * 30
        image_mask = torch.tensor([[0, 1, 1, 1, 0, 0, 0]], dtype=torch.float32)
        past = (torch.randn(1, 2, 3, 8), torch.randn(1, 2, 3, 8))
        positions = torch.arange(3, 10).view(1, 7)
        mask = torch.cat([torch.zeros(1, 1, 7, 3), causal_mask(torch.ones(1, 7))], dim=-1)
        with torch.no_grad():
            full, (key, value) = draft(ids, hidden, image, image_mask, positions, mask, past)
            for rows in (torch.tensor([6]), torch.tensor([0, 4, 6])):
                some, (key_rows, value_rows) = draft(ids, hidden, image, image_mask, positions, mask, past, rows)
                assert torch.allclose(some, full[:, rows], atol=1e-6)
                assert torch.equal(key_rows, key) and torch.equal(value_rows, value)


def test_drafts_export_as_fused_kernels_where_their_shape_allows(tmp_path):
    import onnx

    from msd_training.onnx_export import export_draft
    from msd_training.quantize import quantize_matmuls

    shapes = {"mha": 4, "gqa": 2}
    for name, kv_heads in shapes.items():
        text = TextConfig(vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=kv_heads)
        path = str(tmp_path / f"{name}.onnx")
        export_draft(MsdDraft(DraftConfig(text_config=text)).eval(), path, top_k=10)
        # The int8 pass finds lm_head, gate_proj and up_proj by their node names either way.
        assert quantize_matmuls(path, min_elements=1) == 3
        graph = onnx.load(path).graph
        ops = {node.op_type for node in graph.node}
        # Grouped-query drafts keep the traced graph: MultiHeadAttention wants a KV head per query head.
        assert ("MultiHeadAttention" in ops) == (name == "mha")
        hidden = next(output for output in graph.output if output.name == "last_hidden_state")
        assert hidden.type.tensor_type.shape.dim[1].dim_param == "topk_row_count"
        # The fused graph keeps its cache in rows and also returns the new positions' rows.
        dims = {value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim] for value in [*graph.input, *graph.output]}
        if name == "mha":
            assert dims["past_key_values.0.key"] == ["batch_size", "past_sequence_length", 64]
            assert dims["present.0.value"] == ["batch_size", "total_sequence_length", 64]
            assert dims["present_rows.0.key"] == ["batch_size", "sequence_length", 64]
        else:
            assert dims["past_key_values.0.key"] == ["batch_size", kv_heads, "past_sequence_length", 16]
            assert "present_rows.0.key" not in dims


def test_row_layout_case_moves_heads_into_rows():
    import numpy as np

    from msd_training.draft_graph import row_layout_case

    past = np.arange(1 * 2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4)  # 2 heads, 3 positions, head_dim 4
    present = np.arange(1 * 2 * 5 * 4, dtype=np.float32).reshape(1, 2, 5, 4) + 100
    feeds, expected = row_layout_case(
        {"input_ids": np.zeros((1, 2), np.int64), "past_key_values.0.key": past, "past_key_values.0.value": past},
        {"topk_ids": np.zeros((1, 2, 3), np.int64), "present.0.key": present, "present.0.value": present},
    )
    assert feeds["past_key_values.0.key"].shape == (1, 3, 8)
    # Position 1's row: head 0's four values, then head 1's.
    np.testing.assert_array_equal(feeds["past_key_values.0.key"][0, 1], np.concatenate([past[0, 0, 1], past[0, 1, 1]]))
    assert list(expected) == ["topk_ids", "present.0.key", "present.0.value", "present_rows.0.key", "present_rows.0.value"]
    np.testing.assert_array_equal(expected["present_rows.0.key"], expected["present.0.key"][:, 3:])
    assert expected["present_rows.0.value"].shape == (1, 2, 8)

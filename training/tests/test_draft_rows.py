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

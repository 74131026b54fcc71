"""Greedy decoding with a KV cache, in PyTorch: the reference the ONNX pipeline is checked against."""

from __future__ import annotations

import torch

from .modeling import LlavaForConditionalGeneration


@torch.no_grad()
def greedy(model: LlavaForConditionalGeneration, input_ids: list[int], pixel_values: torch.Tensor | None, max_new_tokens: int = 48) -> list[int]:
    config = model.config
    ids = torch.tensor([input_ids])
    features = model.image_features(pixel_values) if pixel_values is not None and pixel_values.shape[0] > 0 else None
    embeds = model.fuse(ids, features)
    t = ids.shape[1]
    mask = torch.triu(torch.full((t, t), torch.finfo(torch.float32).min), 1).view(1, 1, t, t)
    logits, _, past = model.language_model(embeds, torch.arange(t).view(1, t), mask)
    out: list[int] = []
    for step in range(max_new_tokens):
        token = int(logits[0, -1].argmax())
        if token == config.eos_token_id:
            break
        out.append(token)
        embeds = model.language_model.model.embed_tokens(torch.tensor([[token]]))
        position = t + step
        logits, _, past = model.language_model(embeds, torch.tensor([[position]]), torch.zeros(1, 1, 1, position + 1), past)
    return out

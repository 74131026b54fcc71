"""Teacher-forced target features for draft training: hidden states after the final norm, fused
input embeddings at image positions, token ids and the answer mask, concatenated over samples."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from .batches import BatchMaker, read_samples
from .modeling import LlavaForConditionalGeneration
from .progress import Progress


@torch.no_grad()
def record(model: LlavaForConditionalGeneration, encoder, run_dir: str, split: str, multimodal: int, text: int, seed: int, out_name: str) -> str:
    rng = random.Random(seed)
    images = np.load(os.path.join(run_dir, f"images-{split}.npy"))
    mm = read_samples(os.path.join(run_dir, f"samples-{split}.jsonl"))
    tx = read_samples(os.path.join(run_dir, f"text-{split}.jsonl"))
    chosen = [("mm", s) for s in rng.sample(mm, min(multimodal, len(mm)))] + [("text", s) for s in rng.sample(tx, min(text, len(tx)))]
    maker = BatchMaker(encoder, images, model.config.pad_token_id)
    ids, hidden, embeds, answer, is_image, modality, offsets = [], [], [], [], [], [], [0]
    progress = Progress(len(chosen), f"features:{split}")
    for kind, sample in chosen:
        batch = maker.make([sample], rng)
        logits, h, e = model(batch.input_ids, batch.valid, batch.pixel_values)
        row = batch.input_ids[0]
        image_positions = row == model.config.image_token_index
        ids.append(row.numpy().astype(np.int32))
        hidden.append(h[0].numpy().astype(np.float16))
        # Only image rows matter (text rows are re-embedded by the draft), but keep the layout flat.
        embeds.append(np.where(image_positions.unsqueeze(-1).numpy(), e[0].numpy(), 0).astype(np.float16))
        # loss_mask[j] marks position j whose next token is learned; answer[j] marks token j itself.
        mask = np.zeros(len(row), np.uint8)
        mask[1:] = batch.loss_mask[0, :-1].numpy().astype(np.uint8)
        answer.append(mask)
        is_image.append(image_positions.numpy().astype(np.uint8))
        modality.append(1 if kind == "mm" else 0)
        offsets.append(offsets[-1] + len(row))
        progress.update()
    path = os.path.join(run_dir, out_name)
    np.savez(path, ids=np.concatenate(ids), hidden=np.concatenate(hidden), embeds=np.concatenate(embeds), answer=np.concatenate(answer), is_image=np.concatenate(is_image), modality=np.array(modality, np.uint8), offsets=np.array(offsets, np.int64))
    return path

"""Teacher-forced target features for draft training: hidden states after the final norm, fused
input embeddings at image positions, token ids and the answer mask, concatenated over samples.

Answers come from one of two sources:
- "target" (default, self-distillation): the target's own greedy answer to the sample's question.
  At temperature 0 the draft is scored against exactly these continuations, and a small target's
  answers differ from the dataset's, so training on them removes a train/serve mismatch.
- "dataset": the dataset's reference answer.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .batches import BatchMaker, read_samples
from .data import normalise
from .generate import greedy
from .modeling import LlavaForConditionalGeneration
from .progress import Progress

ANSWER_SOURCES = ("target", "dataset")


def _self_distilled(model: LlavaForConditionalGeneration, encoder, images: np.ndarray, sample: dict, rng: random.Random, max_new_tokens: int):
    """(input_ids [1, T], valid [1, T], answer mask [T], pixels) with the target's greedy answer."""
    _, question, _ = rng.choice(sample["qa"])
    prompt = encoder.encode_question(question, len(sample["images"]))
    pixels = torch.from_numpy(normalise(images[sample["images"]])) if sample["images"] else None
    answer = greedy(model, prompt, pixels, max_new_tokens)
    # EOS is learned only where the target actually stopped.
    ids = prompt + answer + ([model.config.eos_token_id] if len(answer) < max_new_tokens else [])
    mask = np.zeros(len(ids), np.uint8)
    mask[len(prompt) :] = 1
    input_ids = torch.tensor([ids])
    return input_ids, torch.ones_like(input_ids), mask, pixels


def _from_dataset(maker: BatchMaker, sample: dict, rng: random.Random):
    batch = maker.make([sample], rng)
    # loss_mask[j] marks position j whose next token is learned; the answer mask marks token j itself.
    mask = np.zeros(batch.input_ids.shape[1], np.uint8)
    mask[1:] = batch.loss_mask[0, :-1].numpy().astype(np.uint8)
    return batch.input_ids, batch.valid, mask, batch.pixel_values


@torch.no_grad()
def record(
    model: LlavaForConditionalGeneration,
    encoder,
    run_dir: str,
    split: str,
    multimodal: int,
    text: int,
    seed: int,
    out_name: str,
    answers: str = "target",
    max_new_tokens: int = 200,
) -> str:
    if answers not in ANSWER_SOURCES:
        raise ValueError(f"answers must be one of {ANSWER_SOURCES}, got {answers!r}")
    model.eval()
    rng = random.Random(seed)
    images = np.load(os.path.join(run_dir, f"images-{split}.npy"))
    mm = read_samples(os.path.join(run_dir, f"samples-{split}.jsonl"))
    tx = read_samples(os.path.join(run_dir, f"text-{split}.jsonl"))
    chosen = [("mm", s) for s in rng.sample(mm, min(multimodal, len(mm)))] + [("text", s) for s in rng.sample(tx, min(text, len(tx)))]
    maker = BatchMaker(encoder, images, model.config.pad_token_id)
    ids, hidden, embeds, answer, is_image, modality, offsets = [], [], [], [], [], [], [0]
    progress = Progress(len(chosen), f"features:{split}:{answers}")
    for kind, sample in chosen:
        if answers == "target":
            input_ids, valid, mask, pixels = _self_distilled(model, encoder, images, sample, rng, max_new_tokens)
        else:
            input_ids, valid, mask, pixels = _from_dataset(maker, sample, rng)
        _, h, e = model(input_ids, valid, pixels)
        row = input_ids[0]
        image_positions = row == model.config.image_token_index
        ids.append(row.numpy().astype(np.int32))
        hidden.append(h[0].numpy().astype(np.float16))
        # Only image rows matter (text rows are re-embedded by the draft), but keep the layout flat.
        embeds.append(np.where(image_positions.unsqueeze(-1).numpy(), e[0].numpy(), 0).astype(np.float16))
        answer.append(mask)
        is_image.append(image_positions.numpy().astype(np.uint8))
        modality.append(1 if kind == "mm" else 0)
        offsets.append(offsets[-1] + len(row))
        progress.update()
    path = os.path.join(run_dir, out_name)
    np.savez(
        path,
        ids=np.concatenate(ids),
        hidden=np.concatenate(hidden),
        embeds=np.concatenate(embeds),
        answer=np.concatenate(answer),
        is_image=np.concatenate(is_image),
        modality=np.array(modality, np.uint8),
        offsets=np.array(offsets, np.int64),
        answers=np.array(answers),
    )
    return path

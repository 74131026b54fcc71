"""Teacher-forced target features for the bundled model's drafts (the `features` stage).

Answers come from one of two sources:
- "target" (default, self-distillation): the target's own greedy answer to the sample's question.
  At temperature 0 the draft is scored against exactly these continuations, and a small target's
  answers differ from the dataset's, so training on them removes a train/serve mismatch.
- "dataset": the dataset's reference answer.
The samples go through `draft_samples` (batched generation and recording), as for any llava-hf target.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .batches import read_samples
from .data import normalise
from .draft_samples import DraftSample, complete_with_target, write_features
from .modeling import LlavaForConditionalGeneration

ANSWER_SOURCES = ("target", "dataset")


def _draft_sample(encoder, images: np.ndarray, sample: dict, rng: random.Random, answers: str) -> DraftSample:
    _, question, answer = rng.choice(sample["qa"])
    pixels = torch.from_numpy(normalise(images[sample["images"]])) if sample["images"] else None
    if answers == "target":
        return DraftSample(encoder.encode_question(question, len(sample["images"])), pixels)
    ids, mask = encoder.encode_example(question, answer, len(sample["images"]))
    start = mask.index(1)
    return DraftSample(ids[:start], pixels, ids[start:])


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
    batch_size: int = 16,
) -> str:
    if answers not in ANSWER_SOURCES:
        raise ValueError(f"answers must be one of {ANSWER_SOURCES}, got {answers!r}")
    model.eval()
    rng = random.Random(seed)
    images = np.load(os.path.join(run_dir, f"images-{split}.npy"))
    mm = read_samples(os.path.join(run_dir, f"samples-{split}.jsonl"))
    tx = read_samples(os.path.join(run_dir, f"text-{split}.jsonl"))
    chosen = rng.sample(mm, min(multimodal, len(mm))) + rng.sample(tx, min(text, len(tx)))
    samples = [_draft_sample(encoder, images, sample, rng, answers) for sample in chosen]
    complete_with_target(model, samples, max_new_tokens, batch_size, label=f"answers:{split}")
    return write_features(model, samples, os.path.join(run_dir, out_name), batch_size, label=f"features:{split}:{answers}", notes={"answers": answers})

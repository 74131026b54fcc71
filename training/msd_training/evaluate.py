"""Held-out accuracy of the target, with a blank-image control, and sample text-only answers."""

from __future__ import annotations

import os
import random
import re
from collections import defaultdict

import numpy as np
import torch

from .batches import read_samples
from .data import CLIP_MEAN, normalise
from .generate import greedy
from .progress import Progress
from .scoring import LEVELS, description_scores

MAX_ANSWER_TOKENS = 200


def decode(encoder, ids: list[int]) -> str:
    """Text of generated ids; ids past SentencePiece's vocabulary (<image>, <pad>) have no text."""
    size = encoder.sp.get_piece_size()
    return encoder.sp.decode([i for i in ids if i < size])


CAPTION_HEAD = re.compile(r"^There (?:is|are) (\w+) shapes? on an? ([a-z ]+?) background")


def caption_fields(answer: str) -> tuple[str, str] | None:
    """(count word, background) a caption starts with, or None: exact match is too strict a test of
    whether a long caption saw the image, these two fields are not."""
    match = CAPTION_HEAD.match(answer.strip())
    return (match.group(1), match.group(2)) if match else None


def evaluate_target(model, encoder, run_dir: str, limit: int = 300, seed: int = 99) -> dict:
    model.eval()
    rng = random.Random(seed)
    images = np.load(os.path.join(run_dir, "images-heldout.npy"))
    samples = read_samples(os.path.join(run_dir, "samples-heldout.jsonl"))
    rng.shuffle(samples)
    samples = samples[:limit]
    blank = np.zeros_like(images[:1]) + np.array([round(m * 255) for m in CLIP_MEAN], dtype=np.uint8)
    correct = defaultdict(lambda: [0, 0, 0])  # kind -> [with image, blank image, total]
    fields = defaultdict(lambda: [0, 0, 0])  # caption field -> [with image, blank image, total]
    examples = []
    progress = Progress(len(samples), "eval-target")
    for sample in samples:
        kind, question, answer = rng.choice(sample["qa"])
        prompt_ids = encoder.encode_question(question, len(sample["images"]))
        real = torch.from_numpy(normalise(images[sample["images"]]))
        control = torch.from_numpy(normalise(np.repeat(blank, len(sample["images"]), axis=0)))
        got = decode(encoder, greedy(model, prompt_ids, real, MAX_ANSWER_TOKENS))
        got_blank = decode(encoder, greedy(model, prompt_ids, control, MAX_ANSWER_TOKENS))
        correct[kind][0] += got.strip() == answer
        correct[kind][1] += got_blank.strip() == answer
        correct[kind][2] += 1
        expected_fields = caption_fields(answer)
        if expected_fields:
            for index, field in enumerate(("caption count", "caption background")):
                fields[field][0] += (caption_fields(got) or ("", ""))[index] == expected_fields[index]
                fields[field][1] += (caption_fields(got_blank) or ("", ""))[index] == expected_fields[index]
                fields[field][2] += 1
        if len(examples) < 12:
            examples.append({"question": question, "expected": answer, "answer": got, "blank_image_answer": got_blank})
        progress.update()
    total = [sum(v[i] for v in correct.values()) for i in range(3)]
    detailed = evaluate_descriptions(model, encoder, images, samples[: max(8, limit // 3)], blank)
    text_samples = []
    for sample in read_samples(os.path.join(run_dir, "text-heldout.jsonl"))[:6]:
        _, question, answer = sample["qa"][0]
        ids = encoder.encode_question(question, 0)
        text_samples.append({"question": question, "reference": answer, "answer": decode(encoder, greedy(model, ids, None))})
    return {
        "heldout_questions": total[2],
        "accuracy": total[0] / max(1, total[2]),
        "blank_image_accuracy": total[1] / max(1, total[2]),
        "by_kind": {k: {"accuracy": v[0] / v[2], "blank_image_accuracy": v[1] / v[2], "n": v[2]} for k, v in sorted(correct.items())},
        "caption_fields": {k: {"accuracy": v[0] / v[2], "blank_image_accuracy": v[1] / v[2], "n": v[2]} for k, v in sorted(fields.items())},
        "detailed": detailed,
        "examples": examples,
        "text_only_samples": text_samples,
    }


def evaluate_descriptions(model, encoder, images: np.ndarray, samples: list[dict], blank: np.ndarray) -> dict:
    """Per-object F1 of detailed descriptions of held-out single-image scenes, with the image and with
    a blank image in its place (`scoring.py` says what is matched)."""
    samples = [s for s in samples if len(s["images"]) == 1 and any(kind == "detailed" for kind, _, _ in s["qa"])]
    sums = {"image": defaultdict(float), "blank": defaultdict(float)}
    lengths = []
    progress = Progress(len(samples), "eval-target:detailed")
    for sample in samples:
        _, question, reference = next(item for item in sample["qa"] if item[0] == "detailed")
        prompt_ids = encoder.encode_question(question, 1)
        for name, pixels in (("image", images[sample["images"]]), ("blank", blank)):
            ids = greedy(model, prompt_ids, torch.from_numpy(normalise(pixels)), MAX_ANSWER_TOKENS)
            if name == "image":
                lengths.append(len(ids))
            for level, score in description_scores(decode(encoder, ids), reference).items():
                sums[name][level] += score
        progress.update()
    n = max(1, len(samples))
    return {
        "descriptions": len(samples),
        "mean_answer_tokens": float(np.mean(lengths)) if lengths else 0.0,
        "f1": {level: sums["image"][level] / n for level in LEVELS},
        "blank_image_f1": {level: sums["blank"][level] / n for level in LEVELS},
    }

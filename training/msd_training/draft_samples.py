"""What a draft learns from, independent of where the conversations came from.

A `DraftSample` is one assistant turn: the prompt's token ids (image tokens expanded), the images it
shows, and the answer. The answer is either given (the dataset's) or left empty for the target to
write (self-distillation, `complete_with_target`, batched). `write_features` then runs the target
teacher-forced over prompt + answer, in batches, and stores what `train_draft.FeatureSet` reads.
Both the bundled model's `features` stage and `checkpoint_draft` (any llava-hf target) go through here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from .modeling import LlavaForConditionalGeneration, causal_mask
from .progress import Progress


@dataclass
class DraftSample:
    prompt: list[int]
    #: [n_images, 3, H, W] float32, in the order the prompt's image tokens appear; None without images.
    pixel_values: torch.Tensor | None
    #: The answer's token ids (EOS included where the answer ended); None until the target writes it.
    answer: list[int] | None = None

    @property
    def multimodal(self) -> bool:
        return self.pixel_values is not None and self.pixel_values.shape[0] > 0


def _device_and_dtype(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    parameter = next(model.parameters())
    return parameter.device, parameter.dtype


def _image_features(model: LlavaForConditionalGeneration, samples: list[DraftSample]) -> torch.Tensor | None:
    device, dtype = _device_and_dtype(model)
    pixels = [s.pixel_values for s in samples if s.multimodal]
    if not pixels:
        return None
    # fuse() scatters features over image positions row by row, so the batch's images go in row order.
    return model.image_features(torch.cat(pixels).to(device=device, dtype=dtype))


@torch.no_grad()
def greedy_batch(model: LlavaForConditionalGeneration, samples: list[DraftSample], max_new_tokens: int) -> list[tuple[list[int], bool]]:
    """The target's greedy answers to several prompts at once: (tokens, stopped on EOS) per sample.

    Prompts are left-padded so every row's next token sits in the last column; padded keys are
    masked and positions count real tokens only, so each row computes what it would alone."""
    device, dtype = _device_and_dtype(model)
    eos = model.config.eos_token_id
    rows, length = len(samples), max(len(s.prompt) for s in samples)
    ids = torch.zeros((rows, length), dtype=torch.long)
    valid = torch.zeros((rows, length), dtype=torch.long)
    for row, sample in enumerate(samples):
        ids[row, length - len(sample.prompt) :] = torch.tensor(sample.prompt)
        valid[row, length - len(sample.prompt) :] = 1
    ids, valid = ids.to(device), valid.to(device)
    embeds = model.fuse(ids, _image_features(model, samples))
    positions = (valid.cumsum(-1) - 1).clamp(min=0)
    logits, _, past = model.language_model(embeds, positions, causal_mask(valid, dtype))
    next_position = valid.sum(-1, keepdim=True)
    keys = valid.bool()
    answers: list[list[int]] = [[] for _ in samples]
    stopped = [False] * rows
    for step in range(max_new_tokens):
        tokens = logits[:, -1].argmax(-1)
        for row, token in enumerate(tokens.tolist()):
            if stopped[row]:
                continue
            if token == eos:
                stopped[row] = True
            else:
                answers[row].append(token)
        if all(stopped) or step + 1 == max_new_tokens:
            break
        keys = torch.cat([keys, torch.ones((rows, 1), dtype=torch.bool, device=device)], dim=1)
        mask = torch.where(keys, 0.0, torch.finfo(dtype).min).to(dtype).view(rows, 1, 1, -1)
        embeds = model.language_model.model.embed_tokens(tokens.view(rows, 1))
        logits, _, past = model.language_model(embeds, next_position, mask, past)
        next_position = next_position + 1
    return list(zip(answers, stopped, strict=True))


def complete_with_target(
    model: LlavaForConditionalGeneration, samples: list[DraftSample], max_new_tokens: int, batch_size: int, label: str = "answers"
) -> list[DraftSample]:
    """Fill in every missing answer with the target's greedy answer (EOS kept only where it stopped).

    Batches hold prompts of similar length, so little of each batch is padding."""
    pending = sorted((i for i, s in enumerate(samples) if s.answer is None), key=lambda i: len(samples[i].prompt))
    progress = Progress(len(pending), label)
    for start in range(0, len(pending), batch_size):
        chunk = pending[start : start + batch_size]
        for index, (tokens, stopped) in zip(chunk, greedy_batch(model, [samples[i] for i in chunk], max_new_tokens), strict=True):
            samples[index].answer = tokens + ([model.config.eos_token_id] if stopped else [])
        progress.update(len(chunk))
    return samples


@torch.no_grad()
def write_features(
    model: LlavaForConditionalGeneration, samples: list[DraftSample], path: str, batch_size: int, label: str = "features", notes: dict[str, str] | None = None
) -> str:
    """Teacher-forced target features over prompt + answer, in `train_draft.FeatureSet`'s layout: an .npz
    file when `path` ends in .npz, else a directory of .npy files (memory-mapped when training).

    Per position: the token id, the target's last hidden state (after the final norm),
    whether the token belongs to the answer, whether it is an image position; per sample whether it
    has images and where it starts; and the fused input embedding of every image position, in order."""
    model.eval()
    device, dtype = _device_and_dtype(model)
    if any(s.answer is None for s in samples):
        raise ValueError("every sample needs an answer before its features are recorded (complete_with_target)")
    order = sorted(range(len(samples)), key=lambda i: len(samples[i].prompt) + len(samples[i].answer))
    per_sample: dict[int, tuple] = {}
    progress = Progress(len(order), label)
    for start in range(0, len(order), batch_size):
        chunk = [samples[i] for i in order[start : start + batch_size]]
        lengths = [len(s.prompt) + len(s.answer) for s in chunk]
        ids = torch.zeros((len(chunk), max(lengths)), dtype=torch.long)
        valid = torch.zeros_like(ids)
        for row, (sample, length) in enumerate(zip(chunk, lengths, strict=True)):
            ids[row, :length] = torch.tensor(sample.prompt + sample.answer)
            valid[row, :length] = 1
        ids, valid = ids.to(device), valid.to(device)
        embeds = model.fuse(ids, _image_features(model, chunk))
        positions = (valid.cumsum(-1) - 1).clamp(min=0)
        _, hidden, _ = model.language_model(embeds, positions, causal_mask(valid, dtype), logits=False)
        is_image = ids == model.config.image_token_index
        for row, (sample, length) in enumerate(zip(chunk, lengths, strict=True)):
            answer = np.zeros(length, np.uint8)
            answer[len(sample.prompt) :] = 1
            image_rows = is_image[row, :length]
            per_sample[order[start + row]] = (
                ids[row, :length].cpu().numpy().astype(np.int32),
                hidden[row, :length].float().cpu().numpy().astype(np.float16),
                # Only image positions keep their fused embedding (text is re-embedded by the draft).
                embeds[row, :length][image_rows].float().cpu().numpy().astype(np.float16),
                answer,
                image_rows.cpu().numpy().astype(np.uint8),
            )
        progress.update(len(chunk))
    rows = [per_sample[i] for i in range(len(samples))]
    arrays = {
        "ids": np.concatenate([r[0] for r in rows]),
        "hidden": np.concatenate([r[1] for r in rows]),
        "image_embeds": np.concatenate([r[2] for r in rows]),
        "answer": np.concatenate([r[3] for r in rows]),
        "is_image": np.concatenate([r[4] for r in rows]),
        "modality": np.array([1 if s.multimodal else 0 for s in samples], np.uint8),
        "offsets": np.cumsum([0] + [len(r[0]) for r in rows]).astype(np.int64),
    }
    if path.endswith(".npz"):
        # Strings about the recording (e.g. where the answers came from), read back with str(data[key]).
        np.savez(path, **arrays, **{key: np.array(value) for key, value in (notes or {}).items()})
    else:  # a directory of .npy files, which training memory-maps
        os.makedirs(path, exist_ok=True)
        for name, array in arrays.items():
            np.save(os.path.join(path, f"{name}.npy"), array)
        with open(os.path.join(path, "notes.json"), "w") as f:
            json.dump(notes or {}, f)
    return path

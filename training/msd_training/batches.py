"""Padded training batches of conversations with their images."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import numpy as np
import torch

from .conversation import ConversationEncoder
from .data import normalise


@dataclass
class Batch:
    input_ids: torch.Tensor  # [B, T] int64, image positions hold the image token id
    valid: torch.Tensor  # [B, T] 1 for real positions
    loss_mask: torch.Tensor  # [B, T] 1 where the NEXT-token target is learned (answer + EOS)
    pixel_values: torch.Tensor  # [n_images, 3, H, W] in prompt order, batch-major

    def to(self, device: torch.device) -> Batch:
        return Batch(self.input_ids.to(device), self.valid.to(device), self.loss_mask.to(device), self.pixel_values.to(device))


def read_samples(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


class BatchMaker:
    def __init__(self, encoder: ConversationEncoder, images: np.ndarray, pad_id: int):
        self.encoder, self.images, self.pad_id = encoder, images, pad_id

    def make(self, samples: list[dict], rng: random.Random) -> Batch:
        rows, masks, image_ids = [], [], []
        for sample in samples:
            _, question, answer = rng.choice(sample["qa"])
            ids, mask = self.encoder.encode_example(question, answer, len(sample["images"]))
            rows.append(ids)
            masks.append(mask)
            image_ids.extend(sample["images"])
        length = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), length), self.pad_id, dtype=torch.long)
        valid = torch.zeros((len(rows), length), dtype=torch.long)
        loss_mask = torch.zeros((len(rows), length), dtype=torch.float32)
        for i, (ids, mask) in enumerate(zip(rows, masks, strict=True)):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            valid[i, : len(ids)] = 1
            # mask[j] marks token j as a target, so the prediction made at j-1 is learned.
            loss_mask[i, : len(ids) - 1] = torch.tensor(mask[1:], dtype=torch.float32)
        pixels = torch.from_numpy(normalise(self.images[image_ids])) if image_ids else torch.zeros((0, 3, 1, 1))
        return Batch(input_ids, valid, loss_mask, pixels)


class MixedSampler:
    """Draws batches from several pools with fixed probabilities (one pool per batch keeps padding low)."""

    def __init__(self, pools: dict[str, list[dict]], weights: dict[str, float], batch_size: int, seed: int):
        self.pools = {k: v for k, v in pools.items() if v}
        self.weights = {k: weights[k] for k in self.pools}
        self.batch_size = batch_size
        self.rng = random.Random(seed)

    def next(self, weights: dict[str, float] | None = None) -> tuple[str, list[dict]]:
        weights = weights or self.weights
        names = [k for k in self.pools if weights.get(k, 0) > 0]
        name = self.rng.choices(names, weights=[weights[k] for k in names])[0]
        return name, self.rng.sample(self.pools[name], self.batch_size)

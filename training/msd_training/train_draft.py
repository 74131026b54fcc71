"""Stage 5 — MSD draft training on recorded target features.

Draft position i sees (f_i, input of position i+1) and learns f_{i+1}:
    SmoothL1(pred, f_{i+1}) + 0.1 * CE(softmax(lm_head(f_{i+1})), log_softmax(lm_head(pred)))
on positions whose next token is an answer token. Curricula:
    "two-stage"  (MSD): text-only for the first half of the steps, then multimodal samples mixed in
                 with probability rising linearly from 0 to 1;
    "multimodal-only": multimodal samples from the first step (ablation b).
"""

from __future__ import annotations

import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from .modeling import DraftConfig, LlavaForConditionalGeneration, MsdDraft, causal_mask
from .progress import Progress
from .train_target import init_weights, lr_at


class FeatureSet:
    def __init__(self, path: str):
        data = np.load(path)
        self.ids = torch.from_numpy(data["ids"].astype(np.int64))
        self.hidden = torch.from_numpy(data["hidden"])
        self.embeds = torch.from_numpy(data["embeds"])
        self.answer = torch.from_numpy(data["answer"].astype(np.bool_))
        self.is_image = torch.from_numpy(data["is_image"].astype(np.bool_))
        self.modality = data["modality"]
        self.offsets = data["offsets"]

    def indices(self, multimodal: bool) -> list[int]:
        return [i for i, m in enumerate(self.modality) if bool(m) == multimodal]

    def batch(self, rows: list[int]):
        """Shifted draft inputs: position i gets (f_i, token_{i+1}, image embedding_{i+1})."""
        lengths = [int(self.offsets[r + 1] - self.offsets[r]) - 1 for r in rows]
        length = max(lengths)
        d = self.hidden.shape[1]
        b = len(rows)
        ids = torch.zeros(b, length, dtype=torch.long)
        hidden = torch.zeros(b, length, d)
        image_embeds = torch.zeros(b, length, d)
        image_mask = torch.zeros(b, length)
        target = torch.zeros(b, length, d)
        loss_mask = torch.zeros(b, length, dtype=torch.bool)
        valid = torch.zeros(b, length)
        for j, (r, n) in enumerate(zip(rows, lengths, strict=True)):
            s = int(self.offsets[r])
            ids[j, :n] = self.ids[s + 1 : s + 1 + n]
            hidden[j, :n] = self.hidden[s : s + n].float()
            image_embeds[j, :n] = self.embeds[s + 1 : s + 1 + n].float()
            image_mask[j, :n] = self.is_image[s + 1 : s + 1 + n].float()
            target[j, :n] = self.hidden[s + 1 : s + 1 + n].float()
            loss_mask[j, :n] = self.answer[s + 1 : s + 1 + n]
            valid[j, :n] = 1
        return ids, hidden, image_embeds, image_mask, target, loss_mask, valid


def _file_signature(path: str) -> list:
    stat = os.stat(path)
    return [os.path.basename(path), stat.st_size, int(stat.st_mtime)]


def new_draft(target: LlavaForConditionalGeneration, decoupled: bool, seed: int) -> MsdDraft:
    torch.manual_seed(seed)
    draft = MsdDraft(DraftConfig(text_config=target.config.text_config, decoupled=decoupled))
    init_weights(draft)
    with torch.no_grad():
        draft.embed_tokens.weight.copy_(target.language_model.model.embed_tokens.weight)
        draft.lm_head.weight.copy_(target.language_model.lm_head.weight)
    return draft


def draft_loss(draft: MsdDraft, batch, noise: float = 0.0):
    ids, hidden, image_embeds, image_mask, target, loss_mask, valid = batch
    if noise:
        hidden = hidden + (torch.rand_like(hidden) - 0.5) * 2 * noise
    positions = torch.arange(ids.shape[1]).expand(ids.shape[0], -1)
    pred, _ = draft(ids, hidden, image_embeds, image_mask, positions, causal_mask(valid))
    pred, target = pred[loss_mask], target[loss_mask]
    regression = F.smooth_l1_loss(pred, target)
    with torch.no_grad():
        target_probs = torch.softmax(draft.lm_head(target), dim=-1)
    classification = -(target_probs * torch.log_softmax(draft.lm_head(pred), dim=-1)).sum(-1).mean()
    return regression + 0.1 * classification, regression, classification


def multimodal_ratio(curriculum: str, step: int, steps: int) -> float:
    if curriculum == "multimodal-only":
        return 1.0
    half = steps // 2
    return 0.0 if step < half else (step - half) / max(1, steps - half)


def train(
    target: LlavaForConditionalGeneration,
    features_path: str,
    out_path: str,
    decoupled: bool = True,
    curriculum: str = "two-stage",
    steps: int = 1500,
    batch_size: int = 16,
    lr: float = 1e-3,
    seed: int = 1234,
    label: str = "draft",
) -> MsdDraft:
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    features = FeatureSet(features_path)
    draft = new_draft(target, decoupled, seed)
    trainable = [p for p in draft.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    start = 0
    checkpoint = out_path + ".ckpt"
    # A checkpoint resumes only the same training: same step budget, curriculum and feature file.
    setup = {
        "steps": steps,
        "curriculum": curriculum,
        "decoupled": decoupled,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "features": _file_signature(features_path),
    }
    if os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location="cpu")
        if state.get("setup") == setup:
            draft.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start = state["step"]
            print(f"[{label}] resuming from step {start}", flush=True)
        else:
            print(f"[{label}] {checkpoint} is from another training setup; starting from step 0", flush=True)
    pools = {True: features.indices(True), False: features.indices(False)}
    rng = random.Random(seed + start)
    progress = Progress(steps - start, label)
    began = time.time()
    history: list[float] = []
    for step in range(start, steps):
        multimodal = rng.random() < multimodal_ratio(curriculum, step, steps)
        rows = rng.sample(pools[multimodal], batch_size)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, lr, warmup=min(100, steps // 10))
        loss, regression, classification = draft_loss(draft, features.batch(rows), noise=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 0.5)
        optimizer.step()
        history.append(loss.item())
        progress.update(
            loss=float(np.mean(history[-50:])), smooth_l1=regression.item(), ce=classification.item(), mm_ratio=multimodal_ratio(curriculum, step, steps)
        )
        if (step + 1) % 250 == 0 or step + 1 == steps:
            torch.save({"model": draft.state_dict(), "optimizer": optimizer.state_dict(), "step": step + 1, "setup": setup}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)
    torch.save(
        {"model": draft.state_dict(), "config": draft.config.to_dict(), "curriculum": curriculum, "steps": steps, "seconds": time.time() - began}, out_path
    )
    return draft


@torch.no_grad()
def agreement(draft: MsdDraft, features: FeatureSet) -> dict:
    """Top-1 agreement of the draft (teacher-forced features) with the target's greedy token, on answer positions."""
    draft.eval()
    hits = {"text": [0, 0], "image-grounded": [0, 0]}
    for row in range(len(features.modality)):
        ids, hidden, image_embeds, image_mask, target, loss_mask, valid = features.batch([row])
        positions = torch.arange(ids.shape[1]).view(1, -1)
        pred, _ = draft(ids, hidden, image_embeds, image_mask, positions, causal_mask(valid))
        draft_top = draft.lm_head(pred[loss_mask]).argmax(-1)
        target_top = draft.lm_head(target[loss_mask]).argmax(-1)
        key = "image-grounded" if features.modality[row] else "text"
        hits[key][0] += int((draft_top == target_top).sum())
        hits[key][1] += int(loss_mask.sum())
    return {k: {"top1": v[0] / max(1, v[1]), "positions": v[1]} for k, v in hits.items()}

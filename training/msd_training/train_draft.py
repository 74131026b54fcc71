"""Stage 5 — MSD draft training on recorded target features.

Draft position i sees (f_i, input of position i+1) and learns f_{i+1}:
    SmoothL1(pred, f_{i+1}) + 0.1 * CE(softmax(lm_head(f_{i+1})), log_softmax(lm_head(pred)))
on positions whose next token is an answer token. Curricula:
    "two-stage"  (MSD): text-only for the first half of the steps, then multimodal samples mixed in
                 with probability rising linearly from 0 to 1;
    "multimodal-only": multimodal samples from the first step (ablation b).
"""

from __future__ import annotations

import contextlib
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from .modeling import DraftConfig, LlavaForConditionalGeneration, MsdDraft, causal_mask
from .progress import Progress
from .step_budget import StepBudget, pick_device
from .train_target import init_weights, lr_at

FEATURE_ARRAYS = ("ids", "hidden", "image_embeds", "answer", "is_image", "modality", "offsets")


class FeatureShard:
    """One recording: an .npz file (read into memory) or a directory of .npy files (memory-mapped, so a 7B
    target's features, ~9 MB per conversation, need not fit in RAM)."""

    def __init__(self, path: str):
        if os.path.isdir(path):
            arrays = {name: np.load(os.path.join(path, f"{name}.npy"), mmap_mode="r") for name in FEATURE_ARRAYS}
        else:
            with np.load(path) as data:
                arrays = {name: data[name] for name in data.files}
            if "image_embeds" not in arrays:  # files before the compact layout: dense [positions, D], zero at text
                dense = arrays.pop("embeds")
                arrays["image_embeds"] = dense[arrays["is_image"].astype(bool)]
        self.ids, self.hidden, self.image_embeds = arrays["ids"], arrays["hidden"], arrays["image_embeds"]
        self.answer, self.is_image = arrays["answer"], arrays["is_image"]
        self.modality, self.offsets = np.asarray(arrays["modality"]), np.asarray(arrays["offsets"])
        # Row of a position's image embedding = image positions before it (the compact layout's order).
        self.embed_row = np.cumsum(np.asarray(self.is_image, dtype=np.int64)) - 1

    def sample(self, row: int) -> dict[str, torch.Tensor]:
        """Token ids, hidden states, answer and image flags, and the image embeddings of one sample."""
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        is_image = np.asarray(self.is_image[start:end]).astype(bool)
        rows = self.embed_row[start:end][is_image]
        return {
            "ids": torch.from_numpy(np.asarray(self.ids[start:end]).astype(np.int64)),
            "hidden": torch.from_numpy(np.asarray(self.hidden[start:end]).astype(np.float32)),
            "answer": torch.from_numpy(np.asarray(self.answer[start:end]).astype(np.bool_)),
            "is_image": torch.from_numpy(is_image),
            "image_embeds": torch.from_numpy(np.asarray(self.image_embeds[rows[0] : rows[-1] + 1] if len(rows) else self.image_embeds[:0]).astype(np.float32)),
        }


class FeatureSet:
    """Recorded features (`draft_samples.write_features`), from one recording or several shards in order."""

    def __init__(self, path: str | list[str]):
        self.shards = [FeatureShard(p) for p in ([path] if isinstance(path, str) else path)]
        self.rows = [(number, row) for number, shard in enumerate(self.shards) for row in range(len(shard.modality))]
        self.modality = np.concatenate([shard.modality for shard in self.shards])
        self.hidden_size = self.shards[0].hidden.shape[1]

    def sample(self, row: int) -> dict[str, torch.Tensor]:
        number, local = self.rows[row]
        return self.shards[number].sample(local)

    def indices(self, multimodal: bool) -> list[int]:
        return [i for i, m in enumerate(self.modality) if bool(m) == multimodal]

    def batch(self, rows: list[int]):
        """Shifted draft inputs: position i gets (f_i, token_{i+1}, image embedding_{i+1})."""
        samples = [self.sample(r) for r in rows]
        lengths = [len(sample["ids"]) - 1 for sample in samples]
        length, d, b = max(lengths), self.hidden_size, len(rows)
        ids = torch.zeros(b, length, dtype=torch.long)
        hidden = torch.zeros(b, length, d)
        image_embeds = torch.zeros(b, length, d)
        image_mask = torch.zeros(b, length)
        target = torch.zeros(b, length, d)
        loss_mask = torch.zeros(b, length, dtype=torch.bool)
        valid = torch.zeros(b, length)
        for j, (sample, n) in enumerate(zip(samples, lengths, strict=True)):
            ids[j, :n] = sample["ids"][1:]
            hidden[j, :n] = sample["hidden"][:-1]
            images = sample["is_image"][1:]
            if images.any():
                # Position 0 feeds no draft input: the last image embeddings are those of positions 1..n.
                image_embeds[j, :n][images] = sample["image_embeds"][-int(images.sum()) :]
            image_mask[j, :n] = images.float()
            target[j, :n] = sample["hidden"][1:]
            loss_mask[j, :n] = sample["answer"][1:]
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
    positions = torch.arange(ids.shape[1], device=ids.device).expand(ids.shape[0], -1)
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
    if curriculum == "text-only":
        return 0.0
    half = steps // 2
    return 0.0 if step < half else (step - half) / max(1, steps - half)


def train(
    target: LlavaForConditionalGeneration,
    features_path: str | list[str],
    out_path: str,
    decoupled: bool = True,
    curriculum: str = "two-stage",
    steps: int = 1500,
    batch_size: int = 16,
    lr: float = 1e-3,
    seed: int = 1234,
    label: str = "draft",
    device: str = "cpu",
    minutes: float | None = None,
) -> MsdDraft:
    """Train a draft on recorded features; `minutes` fixes the step count to fill a wall-clock budget.

    Resumes from `<out_path>.ckpt` when it holds the same training (steps, curriculum, features)."""
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    device = pick_device(device)
    features = FeatureSet(features_path)
    curriculum = _usable_curriculum(curriculum, features, label)
    draft = new_draft(target, decoupled, seed).to(device)
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
        "features": [_file_signature(p) for p in ([features_path] if isinstance(features_path, str) else features_path)],
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
    # A budget fixes the step count after a few timed steps; a resumed run keeps the count it had.
    budget = StepBudget(minutes if start == 0 else None, steps)
    steps = budget.steps
    progress = Progress(steps - start, label)
    began = time.time()
    history: list[float] = []
    step = start
    while step < steps:
        multimodal = rng.random() < multimodal_ratio(curriculum, step, steps)
        pool = pools[multimodal]
        rows = rng.sample(pool, batch_size) if len(pool) >= batch_size else rng.choices(pool, k=batch_size)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, lr, warmup=min(100, steps // 10))
        batch = tuple(t.to(device, non_blocking=True) for t in features.batch(rows))
        # bf16 autocast on CUDA: a 7B target's draft layer is 200M parameters plus a 32k-128k head.
        # (torch 1.13 probes CUDA even for a disabled autocast, so CPUs get a null context.)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext():
            loss, regression, classification = draft_loss(draft, batch, noise=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 0.5)
        optimizer.step()
        history.append(loss.item())
        if not budget.fixed:
            steps = budget.after_step(step, device)
            progress.total = steps - start
            setup["steps"] = steps
        progress.update(
            loss=float(np.mean(history[-50:])), smooth_l1=regression.item(), ce=classification.item(), mm_ratio=multimodal_ratio(curriculum, step, steps)
        )
        step += 1
        if step % 250 == 0 or step == steps:
            step_index = step - 1
            torch.save({"model": draft.state_dict(), "optimizer": optimizer.state_dict(), "step": step_index + 1, "setup": setup}, checkpoint + ".tmp")
            os.replace(checkpoint + ".tmp", checkpoint)
    draft = draft.cpu()
    # The step count a budget fixed, for reports (a 7B draft's file is gigabytes to read back for it).
    draft.trained_steps = steps
    torch.save(
        {"model": draft.state_dict(), "config": draft.config.to_dict(), "curriculum": curriculum, "steps": steps, "seconds": time.time() - began}, out_path
    )
    return draft


def _usable_curriculum(curriculum: str, features: FeatureSet, label: str) -> str:
    """MSD's two stages need text-only and multimodal samples; with one kind only, train on that kind."""
    kinds = {bool(m) for m in features.modality}
    if kinds == {True, False} or curriculum == "multimodal-only" and True in kinds:
        return curriculum
    if not kinds:
        raise ValueError("the feature file holds no samples")
    fallback = "multimodal-only" if True in kinds else "text-only"
    print(
        f"[{label}] the features hold {'only multimodal' if True in kinds else 'only text-only'} samples: curriculum {fallback} instead of {curriculum}",
        flush=True,
    )
    return fallback


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

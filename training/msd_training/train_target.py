"""Stage 3b — train the tiny LLaVA target: projector and decoder from scratch on the pretrained, frozen vision tower."""

from __future__ import annotations

import json
import math
import os
import random
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

from .batches import BatchMaker, MixedSampler, read_samples
from .conversation import ConversationEncoder, SpecialIds
from .modeling import LlavaConfig, LlavaForConditionalGeneration, TextConfig, VisionConfig, causal_mask, rope
from .progress import Progress
from .step_budget import StepBudget, pick_device


def init_weights(model: torch.nn.Module, std: float = 0.02) -> None:
    for module in model.modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            torch.nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, torch.nn.Embedding):
            torch.nn.init.normal_(module.weight, std=std)


def default_config(sp: spm.SentencePieceProcessor, **overrides) -> LlavaConfig:
    vocab = sp.get_piece_size()
    # <image> and <pad> are appended after SentencePiece's vocabulary.
    text = TextConfig(vocab_size=vocab + 2, **overrides.get("text", {}))
    vision = VisionConfig(**overrides.get("vision", {}))
    return LlavaConfig(vision_config=vision, text_config=text, image_token_index=vocab, pad_token_id=vocab + 1)


def load_encoder(run_dir: str, config: LlavaConfig) -> ConversationEncoder:
    sp = spm.SentencePieceProcessor(model_file=os.path.join(run_dir, "sp.model"))
    ids = SpecialIds(
        bos=config.bos_token_id, eos=config.eos_token_id, image=config.image_token_index, pad=config.pad_token_id, image_tokens=config.image_seq_length
    )
    return ConversationEncoder(sp, ids)


def answer_loss(model: LlavaForConditionalGeneration, batch) -> torch.Tensor:
    """Cross-entropy on answer tokens only; lm_head runs only where a loss is taken (most positions are image patches)."""
    features = model.image_features(batch.pixel_values) if batch.pixel_values.shape[0] > 0 else None
    embeds = model.fuse(batch.input_ids, features)
    positions = (batch.valid.cumsum(-1) - 1).clamp(min=0)
    lm = model.language_model
    cos, sin = rope(positions, lm.config.head_dim, lm.config.rope_theta)
    x = embeds
    mask = causal_mask(batch.valid)
    for layer in lm.model.layers:
        x, _ = layer(x, cos, sin, mask)
    selected = batch.loss_mask[:, :-1].bool()
    hidden = lm.model.norm(x[:, :-1][selected])
    return F.cross_entropy(lm.lm_head(hidden), batch.input_ids[:, 1:][selected])


def lr_at(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def train(
    run_dir: str,
    steps: int = 3000,
    batch_size: int = 16,
    lr: float = 1e-3,
    seed: int = 1234,
    overrides: dict | None = None,
    checkpoint_every: int = 200,
    device: str = "auto",
    minutes: float | None = None,
) -> LlavaForConditionalGeneration:
    """Trains (or resumes) the target and writes `target.ckpt` and `target-train.json`.

    With `minutes`, the step count is chosen to fill that much wall-clock time (see step_budget); a
    resumed run keeps the step count it was started with."""
    device = pick_device(device)
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(run_dir, "sp.model"))
    config = default_config(sp, **(overrides or {}))
    model = LlavaForConditionalGeneration(config)
    init_weights(model)
    vision_path = os.path.join(run_dir, "vision.pt")
    if os.path.exists(vision_path):
        # The pretrained tower stays frozen (LLaVA-1.5 keeps CLIP frozen too): the language model
        # and projector learn to read features that already say what is where.
        model.vision_tower.load_state_dict(torch.load(vision_path, map_location="cpu"))
        model.vision_tower.requires_grad_(False)
        print("[target] vision tower from vision.pt, frozen", flush=True)
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=lr, betas=(0.9, 0.95), weight_decay=0.05)
    checkpoint_path = os.path.join(run_dir, "target.ckpt")
    start = 0
    if os.path.exists(checkpoint_path):
        state = torch.load(checkpoint_path, map_location="cpu")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
        if minutes is not None and state.get("steps"):
            steps, minutes = state["steps"], None
        print(f"[target] resuming from step {start}", flush=True)

    encoder = load_encoder(run_dir, config)
    images = np.load(os.path.join(run_dir, "images-train.npy"))
    multimodal = read_samples(os.path.join(run_dir, "samples-train.jsonl"))
    pools = {
        "image": [s for s in multimodal if len(s["images"]) == 1],
        "two-image": [s for s in multimodal if len(s["images"]) == 2],
        "text": read_samples(os.path.join(run_dir, "text-train.jsonl")),
    }
    sampler = MixedSampler(pools, {"image": 0.6, "two-image": 0.1, "text": 0.3}, batch_size, seed + start)
    maker = BatchMaker(encoder, images, config.pad_token_id)
    rng = random.Random(seed + start)
    params = sum(p.numel() for p in model.parameters())
    print(f"[target] {params / 1e6:.2f}M parameters, {steps} steps of {batch_size}", flush=True)
    budget = StepBudget(minutes, steps, calibrate_from=start + 10, calibrate_to=start + 40)
    steps = budget.steps
    progress = Progress(steps - start, "target")
    warmup = 200 if minutes is not None else min(200, steps // 10)
    losses: dict[str, list[float]] = {}
    began = time.time()
    model.train()
    step = start
    while step < steps:
        kind, samples = sampler.next()
        batch = maker.make(samples, rng).to(device)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, lr, warmup=warmup)
        loss = answer_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        losses.setdefault(kind, []).append(loss.item())
        steps = budget.after_step(step, device)
        progress.total = steps - start
        progress.update(**{f"loss_{k}": float(np.mean(v[-50:])) for k, v in losses.items()})
        step += 1
        if step % checkpoint_every == 0 or step == steps:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "steps": steps, "config": config.to_dict()}
            torch.save(state, checkpoint_path + ".tmp")
            os.replace(checkpoint_path + ".tmp", checkpoint_path)
    report_path = os.path.join(run_dir, "target-train.json")
    if start >= steps:
        return model
    # Seconds add up over resumed runs and cycles, so the report states the whole training time.
    previous = {}
    if os.path.exists(report_path) and start > 0:
        with open(report_path) as f:
            previous = json.load(f)
    with open(report_path, "w") as f:
        json.dump(
            {
                "steps": steps,
                "batch_size": batch_size,
                "lr": lr,
                "device": device.type,
                "seconds": previous.get("seconds", 0) + time.time() - began,
                "parameters": params,
                "final_loss": {k: float(np.mean(v[-100:])) for k, v in losses.items()},
            },
            f,
            indent=2,
        )
    return model

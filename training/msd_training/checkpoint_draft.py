"""Train an MSD draft for your own llava-hf checkpoint (any target msd exports: CLIP/SigLIP + Llama/Qwen2).

    python -m msd_training.checkpoint_draft features --llava CKPT --data conversations.json --work WORK
    python -m msd_training.checkpoint_draft train    --llava CKPT --work WORK [--steps N | --minutes M]
    python -m msd_training.checkpoint_draft all      ... (both)
then export it into an exported model directory as its `msd` draft:
    /usr/bin/python3 -m msd_training.export_real --llava CKPT --draft WORK/draft --out MODEL_DIR --draft-only
(`training/checkpoint-draft.sh` runs the three). docs/own-draft.md has the details and time/memory estimates.

1. features: read the conversations (LLaVA JSON), render each assistant turn's prompt with the
   checkpoint's processor, let the target write its own greedy answers (self-distillation, batched;
   `--answers dataset` keeps the dataset's), and record teacher-forced features, split into train
   and held-out files. Needs transformers (bash scripts/install-training-deps.sh --reference).
2. train: MSD's two-stage curriculum (text-only samples first, then multimodal mixed in) on CUDA
   when present, else CPU; a draft directory (config.json + model.safetensors, the layout
   `export_real` and `hf_checkpoint.load_msd_draft` read) and training.json with the top-1 agreement
   on held-out answers before and after training.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time


class CheckpointDraftError(RuntimeError):
    """The draft cannot be trained as asked (missing reference packages, mismatched checkpoint, ...)."""


def _pick_dtype(name: str, device):
    import torch

    if name == "auto":
        # bf16 halves a 7B target's memory on a GPU; CPUs run fp32 faster than emulated bf16.
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _load_target(llava: str, device: str, dtype: str):
    from .hf_checkpoint import load_llava
    from .step_budget import pick_device

    chosen = pick_device(device)
    model = load_llava(llava)
    return model.to(device=chosen, dtype=_pick_dtype(dtype, chosen)), chosen


def _processor(llava: str):
    try:
        from transformers import AutoProcessor
    except ImportError as error:
        raise CheckpointDraftError(
            "rendering prompts needs transformers (the checkpoint's own processor); install it with "
            "`bash scripts/install-training-deps.sh --reference` and run with training/.venv/bin/python"
        ) from error
    processor = AutoProcessor.from_pretrained(llava)
    if getattr(processor, "chat_template", None) is None:
        raise CheckpointDraftError(f"{llava} has no chat template (chat_template.jinja / chat_template.json / tokenizer_config.json)")
    return processor


class PromptEncoder:
    """Prompt ids and pixels exactly as transformers' processor makes them for this checkpoint."""

    def __init__(self, llava: str, image_tokens: int, image_token_id: int):
        self.processor = _processor(llava)
        self.image_tokens, self.image_token_id = image_tokens, image_token_id

    def images(self, paths: list[str]):
        from transformers.image_utils import load_image

        # transformers' own loader: EXIF orientation, then convert("RGB"), as at inference.
        return [load_image(path) for path in paths]

    def encode(self, messages: list[dict], images, add_generation_prompt: bool):
        text = self.processor.apply_chat_template(messages, add_generation_prompt=add_generation_prompt)
        used = sum(1 for m in messages for part in m["content"] if part["type"] == "image")
        inputs = self.processor(images=images[:used] or None, text=text, return_tensors="pt")
        ids = inputs["input_ids"][0].tolist()
        if ids.count(self.image_token_id) != used * self.image_tokens:
            raise CheckpointDraftError(
                f"the processor expanded {used} images to {ids.count(self.image_token_id)} image tokens; the model takes "
                f"{self.image_tokens} per image (processor_config.json's num_image_tokens / patch_size?)"
            )
        return ids, inputs.get("pixel_values") if used else None

    def decode(self, ids: list[int]) -> str:
        return self.processor.tokenizer.decode(ids, skip_special_tokens=True)


def _dataset_samples(encoder: PromptEncoder, conversation, turns: int):
    """One DraftSample per assistant turn, with the dataset's answers."""
    from .draft_samples import DraftSample
    from .llava_dataset import chat_messages

    images = encoder.images(conversation.images)
    messages = chat_messages(conversation.turns)
    samples, skipped = [], 0
    for index, message in enumerate(messages):
        if message["role"] != "assistant" or len(samples) + skipped >= turns:
            continue
        prompt, pixels = encoder.encode(messages[:index], images, add_generation_prompt=True)
        full, _ = encoder.encode(messages[: index + 1], images, add_generation_prompt=False)
        if full[: len(prompt)] != prompt or len(full) == len(prompt):
            skipped += 1  # the template does not end the prompt where the answer starts: no clean split
            continue
        samples.append(DraftSample(prompt, pixels, full[len(prompt) :]))
    return samples, skipped


def build_samples(encoder: PromptEncoder, conversations, answers: str, turns: int, model, max_new_tokens: int, batch_size: int):
    """DraftSamples for every conversation; with answers='target', turn by turn in batches across conversations."""
    from .draft_samples import DraftSample, complete_with_target
    from .llava_dataset import chat_messages

    if answers == "dataset":
        samples, skipped = [], 0
        for conversation in conversations:
            made, missed = _dataset_samples(encoder, conversation, turns)
            samples += made
            skipped += missed
        if skipped:
            print(f"[features] {skipped} turns skipped: the chat template's prompt is not a prefix of the rendered answer", flush=True)
        return samples
    histories = [[turn for turn in c.turns if turn[0] == "system"] for c in conversations]
    questions = [[text for role, text in c.turns if role == "user"] for c in conversations]
    images = [encoder.images(c.images) for c in conversations]
    samples: list[DraftSample] = []
    for round_index in range(turns):
        active = [i for i, q in enumerate(questions) if round_index < len(q)]
        if not active:
            break
        batch = []
        for i in active:
            histories[i].append(("user", questions[i][round_index]))
            ids, pixels = encoder.encode(chat_messages(histories[i]), images[i], add_generation_prompt=True)
            batch.append(DraftSample(ids, pixels))
        complete_with_target(model, batch, max_new_tokens, batch_size, label=f"answers:turn {round_index + 1}")
        for i, sample in zip(active, batch, strict=True):
            histories[i].append(("assistant", encoder.decode(sample.answer)))
        samples += batch
    return samples


def _settings(args) -> dict:
    names = ("llava", "data", "image_folder", "answers", "turns", "max_new_tokens", "limit", "heldout", "chunk", "seed", "dtype")
    return {name: getattr(args, name) for name in names}


def shards(work: str, split: str) -> list[str]:
    """The feature shards of a split, in order."""
    names = [name for name in os.listdir(work) if name.startswith(f"features-{split}-") and not name.endswith(".tmp")]
    return sorted(os.path.join(work, name) for name in names)


def features(args) -> dict:
    """Record features in shards of --chunk conversations; a rerun with the same settings skips finished shards."""
    from .draft_samples import write_features
    from .llava_dataset import read_conversations

    os.makedirs(args.work, exist_ok=True)
    conversations = read_conversations(args.data, args.image_folder, args.limit)
    settings_path = os.path.join(args.work, "features-settings.json")
    settings = _settings(args)
    previous = None
    if os.path.exists(settings_path):
        with open(settings_path) as f:
            previous = json.load(f)
    if previous != settings:
        for split in ("train", "heldout"):
            for path in shards(args.work, split):
                shutil.rmtree(path)
        with open(settings_path, "w") as f:
            json.dump(settings, f, indent=2)
    model, device = _load_target(args.llava, args.device, args.dtype)
    config = model.config
    print(
        f"[features] {len(conversations)} conversations ({sum(1 for c in conversations if c.images)} with images) from {args.data}; "
        f"target on {device.type}, {next(model.parameters()).dtype}",
        flush=True,
    )
    encoder = PromptEncoder(args.llava, config.image_seq_length, config.image_token_index)
    order = list(range(len(conversations)))
    random.Random(args.seed).shuffle(order)
    heldout_count = min(len(order) - 1, max(1, round(len(order) * args.heldout))) if len(order) > 1 else 0
    splits = {"heldout": [conversations[i] for i in order[:heldout_count]], "train": [conversations[i] for i in order[heldout_count:]]}
    began, report = time.time(), {}
    for split, chosen in splits.items():
        counts = {"conversations": len(chosen), "samples": 0, "multimodal": 0, "answer_tokens": 0}
        for number, start in enumerate(range(0, len(chosen), args.chunk)):
            path = os.path.join(args.work, f"features-{split}-{number:05d}")
            if os.path.exists(path):
                print(f"[features] {path} done earlier", flush=True)
                continue
            samples = build_samples(encoder, chosen[start : start + args.chunk], args.answers, args.turns, model, args.max_new_tokens, args.batch_size)
            shutil.rmtree(path + ".tmp", ignore_errors=True)
            write_features(model, samples, path + ".tmp", args.batch_size, label=f"features:{split}:{number}", notes={"answers": args.answers})
            os.replace(path + ".tmp", path)
            counts["samples"] += len(samples)
            counts["multimodal"] += sum(s.multimodal for s in samples)
            counts["answer_tokens"] += sum(len(s.answer) for s in samples)
        report[split] = counts
    report.update({"seconds": time.time() - began, "device": device.type, "settings": settings})
    with open(os.path.join(args.work, "features.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"[features] done in {report['seconds']:.0f}s: train {report['train']}, heldout {report['heldout']}", flush=True)
    return report


def save_draft(draft, directory: str) -> None:
    """config.json + model.safetensors without the frozen embedding and head (they are the target's)."""
    from .safetensors_io import save_safetensors

    os.makedirs(directory, exist_ok=True)
    tensors = {k: v.detach().float().cpu().numpy() for k, v in draft.state_dict().items() if k not in ("embed_tokens.weight", "lm_head.weight")}
    save_safetensors(os.path.join(directory, "model.safetensors"), tensors, metadata={"format": "pt"})
    t = draft.config.text_config
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": t.hidden_size,
        "intermediate_size": t.intermediate_size,
        "num_attention_heads": t.num_attention_heads,
        "num_key_value_heads": t.num_key_value_heads,
        "num_hidden_layers": 1,
        "rms_norm_eps": t.rms_norm_eps,
        "rope_theta": t.rope_theta,
        "max_position_embeddings": t.max_position_embeddings,
        "vocab_size": t.vocab_size,
        "msd_decoupled": draft.config.decoupled,
    }
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def train(args) -> dict:
    from .hf_checkpoint import load_llava
    from .train_draft import FeatureSet, agreement, new_draft, train as train_draft

    train_path, heldout_path = shards(args.work, "train"), shards(args.work, "heldout")
    if not train_path:
        raise CheckpointDraftError(f"{args.work} holds no features-train-* shards: run the features step first")
    # Training reads recorded features only; the target gives the draft its (frozen) embedding and head.
    target = load_llava(args.llava)
    began = time.time()
    draft = train_draft(
        target,
        train_path,
        os.path.join(args.work, "draft.pt"),
        steps=args.steps,
        batch_size=args.draft_batch,
        lr=args.lr,
        seed=args.seed,
        label="draft",
        device=args.device,
        minutes=args.minutes,
    )
    seconds = time.time() - began
    save_draft(draft, os.path.join(args.work, "draft"))
    report = {"steps": draft.trained_steps, "seconds": seconds}
    for name, path in (("train", train_path), ("heldout", heldout_path)):
        if path:
            feature_set = FeatureSet(path)
            report[f"agreement_{name}"] = agreement(draft, feature_set)
            report[f"agreement_{name}_untrained"] = agreement(new_draft(target, True, args.seed), feature_set)
    with open(os.path.join(args.work, "draft", "training.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(f"[draft] saved {os.path.join(args.work, 'draft')}: {json.dumps(report)}", flush=True)
    return report


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--llava", required=True, help="the llava-hf checkpoint directory the draft is for")
    common.add_argument("--work", required=True, help="working directory: features, draft checkpoints, the draft")
    common.add_argument("--device", default="auto", help="auto (CUDA when PyTorch sees a GPU), cpu or cuda")
    common.add_argument("--seed", type=int, default=1234)
    recording = argparse.ArgumentParser(add_help=False)
    recording.add_argument("--data", required=True, help="conversations in LLaVA's JSON format (a list, or JSON lines)")
    recording.add_argument("--image-folder", help="where relative image paths resolve (default: the data file's folder)")
    recording.add_argument("--answers", choices=["target", "dataset"], default="target", help="target: the checkpoint's own greedy answers (default)")
    recording.add_argument("--turns", type=int, default=1, help="assistant turns per conversation to learn from (default 1)")
    recording.add_argument("--max-new-tokens", type=int, default=256)
    recording.add_argument("--limit", type=int, help="use the first N conversations only")
    recording.add_argument("--heldout", type=float, default=0.05, help="share of conversations kept for the agreement report")
    recording.add_argument("--batch-size", type=int, default=8, help="prompts answered and recorded at once")
    recording.add_argument("--chunk", type=int, default=256, help="conversations per feature shard (a rerun resumes at the first missing shard)")
    recording.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto", help="target dtype (auto: bf16 on CUDA)")
    training = argparse.ArgumentParser(add_help=False)
    training.add_argument("--steps", type=int, default=4000)
    training.add_argument("--minutes", type=float, help="train for this many minutes instead of --steps")
    training.add_argument("--draft-batch", type=int, default=16)
    training.add_argument("--lr", type=float, default=1e-3)
    parser = argparse.ArgumentParser(prog="python -m msd_training.checkpoint_draft", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("features", parents=[common, recording], help="record the target's features")
    commands.add_parser("train", parents=[common, training], help="train the draft on them")
    commands.add_parser("all", parents=[common, recording, training], help="features, then train")
    return parser


def main(argv: list[str] | None = None) -> int:
    from .hf_checkpoint import CheckpointError
    from .llava_dataset import DatasetError

    args = _parser().parse_args(argv)
    try:
        if args.command in ("features", "all"):
            features(args)
        if args.command in ("train", "all"):
            train(args)
    except (CheckpointDraftError, DatasetError, CheckpointError) as error:
        print(f"checkpoint_draft: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

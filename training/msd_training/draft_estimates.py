"""Time and memory of training an MSD draft for a target of a given size, measured, not guessed.

    python -m msd_training.draft_estimates --preset llava-1.5-7b --device cuda [--batch-size 16]

Builds a random-weight target with the preset's exact shapes (no download), then times the three
phases of `checkpoint_draft` on synthetic conversations of the preset's shape: the target's batched
greedy answers (self-distillation), teacher-forced feature recording, and draft training steps.
Prints one JSON object: per-sample and per-step seconds, peak accelerator memory, feature bytes per
sample, and what those make for a 10,000-conversation run (docs/own-draft.md quotes them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

PRESETS = {
    # llava-hf/llava-1.5-7b-hf: CLIP ViT-L/14 at 336 px + Llama-2-7B (Vicuna)
    "llava-1.5-7b": {
        "vision": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16, "image_size": 336, "patch_size": 14},
        "text": {
            "vocab_size": 32064,
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "rms_norm_eps": 1e-5,
            "max_position_embeddings": 4096,
        },
        "llava": {"image_token_index": 32000, "pad_token_id": 32001, "eos_token_id": 2},
    },
    # llava-hf/llava-interleave-qwen-0.5b-hf: SigLIP so400m/14 at 384 px + Qwen2-0.5B
    "llava-interleave-qwen-0.5b": {
        "vision": {
            "hidden_size": 1152,
            "intermediate_size": 4304,
            "num_hidden_layers": 26,
            "num_attention_heads": 16,
            "image_size": 384,
            "patch_size": 14,
            "layer_norm_eps": 1e-6,
            "hidden_act": "gelu_pytorch_tanh",
            "model_type": "siglip_vision_model",
        },
        "text": {
            "vocab_size": 152000,
            "hidden_size": 896,
            "intermediate_size": 4864,
            "num_hidden_layers": 24,
            "num_attention_heads": 14,
            "num_key_value_heads": 2,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0,
            "max_position_embeddings": 32768,
            "qkv_bias": True,
            "tie_word_embeddings": True,
        },
        "llava": {
            "image_token_index": 151646,
            "pad_token_id": 151643,
            "eos_token_id": 151645,
            "bos_token_id": None,
            "vision_feature_layer": -1,
            "vision_feature_select_strategy": "full",
        },
    },
}


def build_target(preset: str, device, dtype):
    import torch

    from .hf_checkpoint import no_init
    from .modeling import LlavaConfig, LlavaForConditionalGeneration, TextConfig, VisionConfig

    shapes = PRESETS[preset]
    config = LlavaConfig(vision_config=VisionConfig(**shapes["vision"]), text_config=TextConfig(**shapes["text"]), **shapes["llava"])
    with no_init(), torch.device(device):
        model = LlavaForConditionalGeneration(config)
    model = model.to(dtype)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.02)
    return model.eval().requires_grad_(False)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(preset: str, device_name: str, batch_size: int, new_tokens: int, samples: int, draft_steps: int, dtype_name: str = "auto") -> dict:
    import torch

    from .checkpoint_draft import _pick_dtype
    from .draft_samples import DraftSample, complete_with_target, write_features
    from .step_budget import pick_device
    from .train_draft import train

    device = pick_device(device_name)
    dtype = _pick_dtype(dtype_name, device)
    began = time.time()
    model = build_target(preset, device, dtype)
    parameters = sum(p.numel() for p in model.parameters())
    build_seconds = time.time() - began
    config = model.config
    generator = torch.Generator().manual_seed(0)
    size = config.vision_config.image_size
    prompt_text = 40  # tokens of template and question around the image, as in LLaVA's instruction data

    def sample(index: int) -> DraftSample:
        text = torch.randint(3, 30000, (prompt_text,), generator=generator).tolist()
        if index % 5 == 4:  # a text-only conversation in five
            return DraftSample([1, *text], None)
        return DraftSample([1, *text[:5], *[config.image_token_index] * config.image_seq_length, *text[5:]], torch.randn(1, 3, size, size, generator=generator))

    batch = [sample(i) for i in range(samples)]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _sync(device)
    start = time.time()
    # Random weights rarely say EOS: every answer runs to new_tokens, the long case.
    complete_with_target(model, batch, new_tokens, batch_size, label=f"{preset}:answers")
    _sync(device)
    generate_seconds = time.time() - start
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "features.npz")
        start = time.time()
        write_features(model, batch, path, batch_size, label=f"{preset}:features")
        _sync(device)
        record_seconds = time.time() - start
        feature_bytes = os.path.getsize(path)
        recording_peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else None
        # checkpoint_draft keeps the target on the CPU while the draft trains; here it stays put and
        # its weights are left out of the training peak.
        resident = torch.cuda.memory_allocated() if device.type == "cuda" else 0
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        start = time.time()
        train(model, path, os.path.join(directory, "draft.pt"), steps=draft_steps, batch_size=min(16, samples), device=device_name, label=f"{preset}:draft")
        _sync(device)
        train_seconds = time.time() - start
        training_peak = torch.cuda.max_memory_allocated() - resident if device.type == "cuda" else None
    per_sample = (generate_seconds + record_seconds) / samples
    per_step = train_seconds / draft_steps
    return {
        "preset": preset,
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)",
        "dtype": str(dtype).replace("torch.", ""),
        "parameters": parameters,
        "image_tokens": config.image_seq_length,
        "answer_tokens": new_tokens,
        "batch_size": batch_size,
        "build_seconds": round(build_seconds, 1),
        "answers_seconds_per_sample": round(generate_seconds / samples, 4),
        "features_seconds_per_sample": round(record_seconds / samples, 4),
        "feature_megabytes_per_sample": round(feature_bytes / samples / 1e6, 2),
        "draft_step_seconds": round(per_step, 4),
        "draft_batch": min(16, samples),
        "peak_gib_recording": round(recording_peak / 2**30, 1) if recording_peak is not None else None,
        "peak_gib_training": round(training_peak / 2**30, 1) if training_peak is not None else None,
        "for_10k_conversations": {
            "features_hours": round(per_sample * 10_000 / 3600, 2),
            "feature_gigabytes": round(feature_bytes / samples * 10_000 / 1e9, 1),
            "draft_hours_per_10k_steps": round(per_step * 10_000 / 3600, 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m msd_training.draft_estimates", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), action="append", required=True, help="repeatable")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--draft-steps", type=int, default=40)
    parser.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"], default="auto", help="target dtype (auto: bf16 on CUDA)")
    args = parser.parse_args(argv)
    for preset in args.preset:
        print(json.dumps(measure(preset, args.device, args.batch_size, args.new_tokens, args.samples, args.draft_steps, args.dtype)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

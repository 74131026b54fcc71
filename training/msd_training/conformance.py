"""Reference side of the conformance suite: random llava-hf checkpoints built with transformers' own
classes, the images and prompts of each case, and what transformers makes of them.

Runs in the reference environment (training/.venv with transformers, tokenizers and Pillow from the
machine's package index; scripts/conformance.sh builds it), never in msd's own code path:

    training/.venv/bin/python -m msd_training.conformance --out DIR

For every checkpoint kind, DIR/<kind>/ gets
    checkpoint/   the llava-hf directory (config.json, safetensors in that kind's key layout and dtype,
                  tokenizer, processor config, chat template)
    draft/        a random MSD draft for it (config.json + model.safetensors)
    cases.json    per case: messages, image files, the rendered prompt, transformers' prompt ids and
                  greedy tokens, and the smallest top-1/top-2 logit margin along them
    case-NN.pixels.npy, case-NN.logits.npy   pixel values and the logits along the greedy tokens
and DIR/images/ the shared case images. scripts/conformance.sh then exports each checkpoint with
`msd_training.export_real` and packages/msd/conformance/ compares msd against these files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np

KIND_NAMES = ("clip-llama-hub-fp16", "clip-llama-452-bf16", "clip-llama-tf5", "clip-llama-full")
# Per kind: key layout, stored dtype, shards, tokenizer flavour, and the config quirks it carries.
KINDS = {
    # The hub files of llava-hf/llava-1.5-7b-hf: pre-4.52 keys, fp16, sharded, legacy tokenizer,
    # rope_theta and rms_norm_eps stated the pre-5 way.
    "clip-llama-hub-fp16": {"layout": "hub", "dtype": "float16", "shards": 2, "tokenizer": "legacy", "rope_theta": 10000.0, "select": "default"},
    # save_pretrained from transformers 4.52-4.57: `model.` prefix, CLIP with `vision_model.`; bf16;
    # no rms_norm_eps (LlamaConfig's default 1e-6 applies); Metaspace tokenizer.
    "clip-llama-452-bf16": {
        "layout": "4.52",
        "dtype": "bfloat16",
        "shards": 3,
        "tokenizer": "metaspace",
        "rope_theta": 10000.0,
        "select": "default",
        "drop_rms_norm_eps": True,
    },
    # transformers 5's own save_pretrained: rope_parameters with theta 1e6, fp32, one file.
    "clip-llama-tf5": {"layout": "tf5", "dtype": "float32", "shards": 1, "tokenizer": "metaspace", "rope_theta": 1e6, "select": "default"},
    # vision_feature_select_strategy "full": the CLS position is an image token too.
    "clip-llama-full": {"layout": "tf5", "dtype": "float16", "shards": 1, "tokenizer": "legacy", "rope_theta": 10000.0, "select": "full"},
}

IMAGE_SIZE, PATCH = 84, 14
TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}
VISION = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
NEW_TOKENS = 24
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# llava-1.5's conversation format ("USER: <image>\n... ASSISTANT:"), written for this suite.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'].upper() + ': ' }}"
    "{% if message['content'] is string %}{{ message['content'] + ' ' }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}{{ '<image>\n' }}{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] + ' ' }}{% endif %}{% endfor %}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---------------------------------------------------------------------------------------------- images


def make_images(out: str) -> dict[str, str]:
    """The case images: each exercises one decoding or resizing path of the reference's `load_image`."""
    from PIL import Image, ImageDraw

    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(14)
    paths: dict[str, str] = {}

    def save(name: str, image, **options) -> None:
        paths[name] = os.path.join(out, name)
        image.save(paths[name], **options)

    # A "photo": smooth colour fields with sensor-like noise, downscaled 7x by the processor.
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    photo = np.stack([128 + 90 * np.sin(x / 70), 128 + 80 * np.cos(y / 55), 120 + 60 * np.sin((x + y) / 90)], -1)
    photo = np.clip(photo + rng.normal(0, 12, photo.shape), 0, 255).astype(np.uint8)
    save("photo.jpg", Image.fromarray(photo), quality=90)
    save("photo.png", Image.fromarray(photo[::-1]))
    # A "screenshot": flat colours, hard edges and text, where resampling differences are largest.
    shot = Image.new("RGB", (1280, 720), (250, 250, 250))
    draw = ImageDraw.Draw(shot)
    for i in range(12):
        draw.rectangle((40 + i * 100, 60, 120 + i * 100, 140), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
        draw.text((40 + i * 100, 160 + 20 * (i % 5)), f"Item {i}: 3.{i}4 MB", fill=(20, 20, 20))
    draw.line((0, 400, 1280, 700), fill=(200, 30, 30), width=5)
    save("screenshot.png", shot)
    save("tiny.png", Image.fromarray(rng.integers(0, 255, (9, 12, 3), dtype=np.uint8)))  # upscaled 7-9x
    save("wide.jpg", Image.fromarray(np.ascontiguousarray(photo[100:220, :300])), quality=85)  # 300x120
    save("tall.png", Image.fromarray(np.ascontiguousarray(photo[:400, 200:330])))  # 130x400
    grey16 = (np.linspace(0, 65535, 160 * 200).reshape(160, 200)).astype(np.uint16)
    save("grey16.png", Image.fromarray(grey16))  # PIL writes "I;16" as a 16-bit greyscale PNG
    grey16_dark = (grey16 // 300).astype(np.uint16)  # mostly below 256: clipping keeps detail
    save("grey16-dark.png", Image.fromarray(grey16_dark))
    save("palette.png", Image.fromarray(photo[:200, :200]).quantize(32))
    palette_alpha = Image.fromarray(photo[:150, :150]).quantize(16)
    palette_alpha.info["transparency"] = 3
    save("palette-transparent.png", palette_alpha, transparency=3)
    save("cmyk.jpg", Image.fromarray(photo[:240, :320]).convert("CMYK"), quality=92)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    save("exif-rotated.jpg", Image.fromarray(np.ascontiguousarray(photo[:200, :320])), exif=exif.tobytes(), quality=90)
    rgba = np.concatenate([photo[:180, :180], rng.integers(0, 255, (180, 180, 1), dtype=np.uint8)], -1)
    save("alpha.png", Image.fromarray(rgba, "RGBA"))
    save("grey.jpg", Image.fromarray(photo[:, :, 1]), quality=90)
    save("gradient.png", Image.fromarray(np.repeat(np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None], 64, 0).repeat(3, 2)))
    return paths


CASES: list[tuple[list[str], str]] = [
    (["photo.jpg"], "What is in this picture?"),
    (["photo.png"], "Describe the colours."),
    (["screenshot.png"], "Read the text on the screen."),
    (["tiny.png"], "What do you see?"),
    (["wide.jpg"], "Is this image wide or tall?"),
    (["tall.png"], "Describe the image in detail."),
    (["grey16.png"], "How bright is this?"),
    (["grey16-dark.png"], "Is it dark?"),
    (["palette.png"], "What colours are used?"),
    (["palette-transparent.png"], "Describe it."),
    (["cmyk.jpg"], "Which colour dominates?"),
    (["exif-rotated.jpg"], "Which way is up?"),
    (["alpha.png"], "What shape is this?"),
    (["grey.jpg"], "Is this black and white?"),
    (["gradient.png"], "Where is it brightest?"),
    (["photo.jpg", "screenshot.png"], "Compare the two images."),
    (["tiny.png", "cmyk.jpg"], "What differs between them?"),
    ([], "Write one sentence about the sea."),
    ([], "List three colours."),
    (["photo.jpg"], "Qu'est-ce que c'est ? Décris l'image, s'il te plaît."),
    (["screenshot.png"], "这张图片里有什么？"),
    ([], "Emoji test 🎉🚀 and naïve café, résumé."),
    (["alpha.png"], "  Leading and trailing spaces  "),
    (["palette.png"], "Line one\nLine two\tTabbed"),
]


def messages_for(images: list[str], question: str) -> list[dict]:
    return [{"role": "user", "content": [*({"type": "image"} for _ in images), {"type": "text", "text": question}]}]


# ---------------------------------------------------------------------------------------------- tokenizer


def write_tokenizer(out: str, flavour: str) -> None:
    """The bundled tiny model's BPE vocabulary in one of the two Llama tokenizer.json formats."""
    source = os.path.join(_repo_root(), "packages", "tiny-llava", "model")
    with open(os.path.join(source, "tokenizer.json")) as f:
        tokenizer = json.load(f)
    with open(os.path.join(source, "tokenizer_config.json")) as f:
        config = json.load(f)
    config.pop("chat_template", None)  # the processor saves the template beside it
    if flavour == "metaspace":
        # Newer Llama conversions: no normaliser, a Metaspace pre-tokenizer that prepends "▁" only
        # at the start of the input.
        tokenizer["normalizer"] = None
        tokenizer["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
        config["legacy"] = False
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)


# ---------------------------------------------------------------------------------------------- checkpoint


def build_model(kind: dict, seed: int):
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    torch.manual_seed(seed)
    patches = (IMAGE_SIZE // PATCH) ** 2
    vision = CLIPVisionConfig(image_size=IMAGE_SIZE, patch_size=PATCH, projection_dim=16, **VISION)
    text = LlamaConfig(
        vocab_size=4002, max_position_embeddings=1024, rope_parameters={"rope_type": "default", "rope_theta": kind["rope_theta"]}, eos_token_id=2, **TEXT
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=4000,
        pad_token_id=4001,
        vision_feature_select_strategy=kind["select"],
        image_seq_length=patches + (1 if kind["select"] == "full" else 0),
    )
    model = LlavaForConditionalGeneration(config).eval()
    dtype = getattr(torch, kind["dtype"])
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            # Wider weights than the 0.02 init: random logits then have clear winners, so a greedy
            # comparison tests the arithmetic rather than near-ties.
            if parameter.dim() == 2 and "embed" not in name:
                parameter.mul_(30.0 if "lm_head" in name else 2.0)
            parameter.copy_(parameter.to(dtype).to(torch.float32))  # the reference runs exactly the stored values
    return model


def _hub_key(key: str) -> str:
    key = key.replace("model.vision_tower.", "vision_tower.vision_model.")
    key = key.replace("model.multi_modal_projector.", "multi_modal_projector.")
    key = key.replace("model.language_model.", "language_model.model.")
    return "language_model.lm_head.weight" if key == "lm_head.weight" else key


def _key_452(key: str) -> str:
    return key.replace("model.vision_tower.", "model.vision_tower.vision_model.")


def save_checkpoint(model, kind: dict, out: str) -> None:
    """Weights in the kind's key layout, dtype and shards, with an index json when sharded."""
    import torch
    from safetensors.torch import save_file

    rename = {"hub": _hub_key, "4.52": _key_452, "tf5": lambda key: key}[kind["layout"]]
    dtype = getattr(torch, kind["dtype"])
    state = {rename(k): v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    names = sorted(state)
    shards = [names[i :: kind["shards"]] for i in range(kind["shards"])]
    os.makedirs(out, exist_ok=True)
    weight_map = {}
    for index, shard in enumerate(shards):
        file = "model.safetensors" if kind["shards"] == 1 else f"model-{index + 1:05d}-of-{kind['shards']:05d}.safetensors"
        save_file({k: state[k] for k in shard}, os.path.join(out, file), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shard, file))
    if kind["shards"] > 1:
        total = sum(v.numel() * v.element_size() for v in state.values())
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    config = model.config.to_dict()
    text = config["text_config"]
    if kind["layout"] != "tf5":
        # Configs written before transformers 5 state rope_theta directly.
        text["rope_theta"] = text.pop("rope_parameters")["rope_theta"]
    if kind.get("drop_rms_norm_eps"):
        text.pop("rms_norm_eps")
    config["torch_dtype"] = text["torch_dtype"] = kind["dtype"]
    config.pop("dtype", None)
    text.pop("dtype", None)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def write_processor(out: str, kind: dict) -> None:
    from transformers import AutoTokenizer, CLIPImageProcessor, LlavaProcessor

    write_tokenizer(out, kind["tokenizer"])
    tokenizer = AutoTokenizer.from_pretrained(out)
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_center_crop=True,
        resample=3,
        image_mean=CLIP_MEAN,
        image_std=CLIP_STD,
        do_convert_rgb=True,
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy=kind["select"],
        chat_template=CHAT_TEMPLATE,
        num_additional_image_tokens=1,
    )
    processor.save_pretrained(out)


def write_draft(out: str, seed: int) -> None:
    """A random MSD draft (decoupled fc over [embedding, feature], one Llama layer) for the target's dims."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    d, inner, heads, kv = TEXT["hidden_size"], 96, TEXT["num_attention_heads"], TEXT["num_key_value_heads"]
    head_dim = d // heads

    def w(*shape):
        return (torch.randn(*shape, generator=generator) * 0.1).contiguous()

    tensors = {
        "fc.weight": w(d, 2 * d),
        "fc.bias": w(d),
        "layers.0.self_attn.q_proj.weight": w(d, d),
        "layers.0.self_attn.k_proj.weight": w(kv * head_dim, d),
        "layers.0.self_attn.v_proj.weight": w(kv * head_dim, d),
        "layers.0.self_attn.o_proj.weight": w(d, d),
        "layers.0.mlp.gate_proj.weight": w(inner, d),
        "layers.0.mlp.up_proj.weight": w(inner, d),
        "layers.0.mlp.down_proj.weight": w(d, inner),
        "layers.0.post_attention_layernorm.weight": 1 + w(d),
    }
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": d,
        "intermediate_size": inner,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "num_hidden_layers": 1,
        "rms_norm_eps": 1e-6,
        "max_position_embeddings": 1024,
        "vocab_size": 4002,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


# ---------------------------------------------------------------------------------------------- reference


def reference_cases(model, checkpoint: str, images: dict[str, str], out: str) -> list[dict]:
    import torch
    from transformers import LlavaProcessor
    from transformers.image_utils import load_image

    processor = LlavaProcessor.from_pretrained(checkpoint)
    cases = []
    for index, (names, question) in enumerate(CASES):
        messages = messages_for(names, question)
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
        # load_image is transformers' own loader: EXIF orientation applied, then convert("RGB").
        pil_images = [load_image(images[name]) for name in names]
        inputs = processor(images=pil_images or None, text=prompt, return_tensors="pt")
        with torch.no_grad():
            generated = model.generate(**inputs, max_new_tokens=NEW_TOKENS, do_sample=False)
            new_tokens = generated[0, inputs["input_ids"].shape[1] :].tolist()
            full = {**inputs, "input_ids": generated, "attention_mask": torch.ones_like(generated)}
            logits = model(**full).logits[0, inputs["input_ids"].shape[1] - 1 : -1].float()
        top2 = logits.topk(2, dim=-1).values
        case = {
            "name": f"case-{index:02d}",
            "messages": messages,
            "images": names,
            "prompt": prompt,
            "input_ids": inputs["input_ids"][0].tolist(),
            "tokens": new_tokens,
            "min_margin": float((top2[:, 0] - top2[:, 1]).min()) if len(new_tokens) else None,
        }
        if pil_images:
            np.save(os.path.join(out, f"{case['name']}.pixels.npy"), inputs["pixel_values"].numpy().astype(np.float32))
        np.save(os.path.join(out, f"{case['name']}.logits.npy"), logits.numpy().astype(np.float32))
        cases.append(case)
    return cases


def build(out: str, kinds: list[str], seed: int = 0) -> None:
    import PIL
    import tokenizers
    import torch
    import transformers

    image_dir = os.path.join(out, "images")
    images = make_images(image_dir)
    versions = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "pillow": PIL.__version__, "torch": torch.__version__}
    print(f"[conformance] reference: {json.dumps(versions)}", flush=True)
    for number, name in enumerate(kinds):
        kind = KINDS[name]
        directory = os.path.join(out, name)
        shutil.rmtree(directory, ignore_errors=True)
        checkpoint = os.path.join(directory, "checkpoint")
        model = build_model(kind, seed + number)
        save_checkpoint(model, kind, checkpoint)
        write_processor(checkpoint, kind)
        write_draft(os.path.join(directory, "draft"), seed + 100 + number)
        cases = reference_cases(model, checkpoint, images, directory)
        with open(os.path.join(directory, "cases.json"), "w") as f:
            json.dump({"kind": name, "settings": kind, "versions": versions, "new_tokens": NEW_TOKENS, "cases": cases}, f, indent=1, ensure_ascii=False)
        margins = [c["min_margin"] for c in cases if c["min_margin"] is not None]
        print(f"[conformance] {name}: {len(cases)} cases, smallest top-2 logit margin {min(margins):.3g}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m msd_training.conformance", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--kinds", default=",".join(KIND_NAMES), help=f"comma-separated, from {', '.join(KIND_NAMES)}")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(KIND_NAMES)}")
    build(args.out, kinds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

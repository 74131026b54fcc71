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

KIND_NAMES = ("clip-llama-hub-fp16", "clip-llama-452-bf16", "clip-llama-tf5", "clip-llama-full", "siglip-qwen2")
# Per kind: key layout, stored dtype, shards, tokenizer flavour, and the config quirks it carries.
KINDS = {
    # The hub files of llava-hf/llava-1.5-7b-hf: pre-4.52 keys, fp16, sharded, legacy tokenizer,
    # rope_theta and rms_norm_eps stated the pre-5 way; one KV head per query head, as Llama 2 7B has
    # (so its drafts take the fused draft graph, msd_training/draft_graph.py; the other kinds are grouped).
    "clip-llama-hub-fp16": {
        "layout": "hub",
        "dtype": "float16",
        "shards": 2,
        "tokenizer": "legacy",
        "rope_theta": 10000.0,
        "select": "default",
        "kv_heads": 4,
    },
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
    # llava-interleave-qwen's layout: SigLIP tower (no CLS, last layer, all patches), Qwen2 decoder (q/k/v
    # biases, tied embeddings, theta 1e6), SiglipImageProcessor, ChatML, byte-level BPE without BOS.
    "siglip-qwen2": {
        "arch": "siglip-qwen2",
        "layout": "tf5",
        "dtype": "bfloat16",
        "shards": 2,
        "tokenizer": "bytelevel",
        "rope_theta": 1e6,
        "select": "full",
        "feature_layer": -1,
    },
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


SIGLIP_IMAGE_SIZE = 56
# ChatML, as Qwen2 chat models write it, with LLaVA's image placeholder ahead of the text; written for this suite.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}{{ '<image>\n' }}{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}{{ '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CHATML_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>")
# Qwen2's pre-tokenizer split (contractions, letters, single digits, punctuation runs, newlines, spaces).
QWEN2_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


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


def write_bytelevel_tokenizer(out: str) -> None:
    """A small Qwen2-style byte-level BPE (NFC, Qwen2's split, byte-level bytes, no BOS), trained here on
    generated text, with ChatML's specials and `<image>` appended after the merges' tokens."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    rng = np.random.default_rng(7)
    words = (
        "the a of and to in is it that this picture image colour colours screen text photo bright dark wide tall "
        "describe what where which compare left right up down red green blue white black grey sea sky one two three "
        "sentence list differ between them shape detail used dominates brightest way Item MB line tabbed spaces"
    ).split()
    lines = [question for _, question in CASES]
    for _ in range(1500):
        count = int(rng.integers(3, 12))
        sentence = " ".join(str(rng.choice(words)) for _ in range(count))
        lines.append(sentence.capitalize() + str(rng.choice([".", "?", "!", ",", ":"])) + (" " + str(rng.integers(0, 100)) if rng.random() < 0.2 else ""))
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(lines, trainer)
    tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in CHATML_SPECIALS])
    os.makedirs(out, exist_ok=True)
    tokenizer.save(os.path.join(out, "tokenizer.json"))
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "add_prefix_space": False,
        "model_max_length": 1024,
        "extra_special_tokens": {"image_token": "<image>"},
    }
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
        vocab_size=4002,
        max_position_embeddings=1024,
        rope_parameters={"rope_type": "default", "rope_theta": kind["rope_theta"]},
        eos_token_id=2,
        **{**TEXT, "num_key_value_heads": kind.get("kv_heads", TEXT["num_key_value_heads"])},
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


def build_siglip_qwen2(kind: dict, seed: int, vocab: dict[str, int]):
    """LLaVA with a SigLIP tower and a Qwen2 decoder (tied embeddings), as llava-interleave-qwen is laid out."""
    import torch
    from transformers import LlavaConfig, LlavaForConditionalGeneration, Qwen2Config, SiglipVisionConfig

    torch.manual_seed(seed)
    patches = (SIGLIP_IMAGE_SIZE // PATCH) ** 2
    vision = SiglipVisionConfig(image_size=SIGLIP_IMAGE_SIZE, patch_size=PATCH, **VISION)
    text = Qwen2Config(
        vocab_size=len(vocab),
        max_position_embeddings=1024,
        rope_parameters={"rope_type": "default", "rope_theta": kind["rope_theta"]},
        tie_word_embeddings=True,
        eos_token_id=vocab["<|im_end|>"],
        pad_token_id=vocab["<|endoftext|>"],
        bos_token_id=None,
        **TEXT,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=vocab["<image>"],
        vision_feature_layer=kind["feature_layer"],
        vision_feature_select_strategy=kind["select"],
        image_seq_length=patches,
        tie_word_embeddings=True,
    )
    model = LlavaForConditionalGeneration(config).eval()
    assert model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr(), "lm_head is not tied"
    model.generation_config.eos_token_id = vocab["<|im_end|>"]
    model.generation_config.pad_token_id = vocab["<|endoftext|>"]
    model.generation_config.bos_token_id = None
    dtype = getattr(torch, kind["dtype"])
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            # The tied embedding is the output layer too: widened like lm_head elsewhere, so greedy
            # tokens have clear winners (RMSNorm keeps the decoder's inputs at scale). A signed random
            # final norm keeps the last token's own embedding from always winning (a tied model's
            # random weights otherwise repeat the prompt's last token).
            if "embed_tokens" in name:
                parameter.mul_(30.0)
            elif name == "model.language_model.norm.weight":
                parameter.normal_(0.0, 1.0)
            elif "language_model" in name and name.endswith(("o_proj.weight", "down_proj.weight")):
                parameter.mul_(10.0)  # layer outputs that compete with the wide embedding in the residual
            elif "language_model" in name and name.endswith(("q_proj.weight", "k_proj.weight")):
                parameter.mul_(6.0)  # sharper attention, so earlier positions (the image) steer the answer
            elif parameter.dim() == 2:
                parameter.mul_(2.0)
            elif name.endswith("_proj.bias"):
                parameter.normal_(0.0, 0.5)  # random q/k/v biases (initialised to zero), so the export must carry them
            parameter.copy_(parameter.to(dtype).to(torch.float32))
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
    if model.config.tie_word_embeddings:
        state.pop(rename("lm_head.weight"))  # as save_pretrained writes a tied model: the embedding only
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


def _save_llava_processor(out: str, kind: dict, image_processor, chat_template: str, additional_image_tokens: int) -> None:
    """LlavaProcessor over the tokenizer already in `out` and the given image processor, saved the way
    transformers saves it (processor_config.json, chat_template.jinja, tokenizer files)."""
    from transformers import AutoTokenizer, LlavaProcessor

    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=AutoTokenizer.from_pretrained(out),
        patch_size=PATCH,
        vision_feature_select_strategy=kind["select"],
        chat_template=chat_template,
        num_additional_image_tokens=additional_image_tokens,
    )
    processor.save_pretrained(out)


def write_processor(out: str, kind: dict) -> None:
    from transformers import CLIPImageProcessor

    write_tokenizer(out, kind["tokenizer"])
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_center_crop=True,
        resample=3,
        image_mean=CLIP_MEAN,
        image_std=CLIP_STD,
        do_convert_rgb=True,
    )
    _save_llava_processor(out, kind, image_processor, CHAT_TEMPLATE, additional_image_tokens=1)


def write_siglip_processor(out: str, kind: dict) -> None:
    from transformers import SiglipImageProcessor

    image_processor = SiglipImageProcessor(
        size={"height": SIGLIP_IMAGE_SIZE, "width": SIGLIP_IMAGE_SIZE}, resample=3, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]
    )
    _save_llava_processor(out, kind, image_processor, CHATML_TEMPLATE, additional_image_tokens=0)  # SigLIP has no CLS


def write_draft(out: str, seed: int, vocab_size: int = 4002, kv_heads: int | None = None) -> None:
    """A random MSD draft (decoupled fc over [embedding, feature], one Llama layer) for the target's dims."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    d, inner, heads, kv = TEXT["hidden_size"], 96, TEXT["num_attention_heads"], kv_heads or TEXT["num_key_value_heads"]
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
        "vocab_size": vocab_size,
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


def write_draft_dataset(out: str, images: dict[str, str]) -> str:
    """A small conversation file in LLaVA's JSON format over the case images (the own-draft CI run):
    one- and two-image questions, a two-turn conversation and text-only records."""
    names = sorted(images)
    questions = [question for _, question in CASES]
    records = []
    for index in range(48):
        question = questions[index % len(questions)]
        if index % 6 == 5:
            records.append({"id": f"text-{index}", "conversations": [{"from": "human", "value": question}, {"from": "gpt", "value": "Yes."}]})
            continue
        chosen = [names[index % len(names)]] + ([names[(index * 7 + 3) % len(names)]] if index % 8 == 0 else [])
        turns = [{"from": "human", "value": "<image>\n" * len(chosen) + question}, {"from": "gpt", "value": "It shows something."}]
        if index % 10 == 1:
            turns += [{"from": "human", "value": "And the colours?"}, {"from": "gpt", "value": "Mostly grey."}]
        records.append({"id": f"image-{index}", "image": chosen if len(chosen) > 1 else chosen[0], "conversations": turns})
    path = os.path.join(out, "draft-dataset.json")
    with open(path, "w") as f:
        json.dump(records, f, indent=1, ensure_ascii=False)
    return path


def build(out: str, kinds: list[str], seed: int = 0) -> None:
    import PIL
    import tokenizers
    import torch
    import transformers

    image_dir = os.path.join(out, "images")
    images = make_images(image_dir)
    write_draft_dataset(image_dir, images)
    versions = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "pillow": PIL.__version__, "torch": torch.__version__}
    print(f"[conformance] reference: {json.dumps(versions)}", flush=True)
    for number, name in enumerate(kinds):
        kind = KINDS[name]
        directory = os.path.join(out, name)
        shutil.rmtree(directory, ignore_errors=True)
        checkpoint = os.path.join(directory, "checkpoint")
        if kind.get("arch") == "siglip-qwen2":
            write_bytelevel_tokenizer(checkpoint)
            with open(os.path.join(checkpoint, "tokenizer.json")) as f:
                saved = json.load(f)
            vocab = {**saved["model"]["vocab"], **{added["content"]: added["id"] for added in saved["added_tokens"]}}
            model = build_siglip_qwen2(kind, seed + number, vocab)
            save_checkpoint(model, kind, checkpoint)
            model.generation_config.save_pretrained(checkpoint)
            write_siglip_processor(checkpoint, kind)
            write_draft(os.path.join(directory, "draft"), seed + 100 + number, vocab_size=len(vocab))
        else:
            model = build_model(kind, seed + number)
            save_checkpoint(model, kind, checkpoint)
            write_processor(checkpoint, kind)
            write_draft(os.path.join(directory, "draft"), seed + 100 + number, kv_heads=kind.get("kv_heads"))
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

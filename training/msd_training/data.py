"""Stage 1 — data: rendered scenes with conversations, and text-only instructions.

Writes into the run directory:
  images-{split}.npy    uint8 [N, 96, 96, 3], already padded to square and resized (what the
                        preprocessor produces before rescale/normalise)
  samples-{split}.jsonl one conversation per line: {"images": [i, ...], "question", "answer", "kind"}
  labels-{split}.npz    ground truth per image for pretraining the vision tower: per-patch colour
                        and shape classes, background class and object count
  corpus.txt            text for the tokenizer
"""

from __future__ import annotations

import json
import os
import random

import numpy as np
from PIL import Image

from . import scenes, text_corpus
from .progress import Progress

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def to_model_pixels(image: Image.Image, size: int) -> np.ndarray:
    """LLaVA-1.5 pad-to-square with the mean colour, bicubic resize, centre crop: uint8 HWC."""
    image = image.convert("RGB")
    w, h = image.size
    side = max(w, h)
    fill = tuple(int(round(m * 255)) for m in CLIP_MEAN)
    square = Image.new("RGB", (side, side), fill)
    square.paste(image, ((side - w) // 2, (side - h) // 2))
    return np.asarray(square.resize((size, size), Image.BICUBIC), dtype=np.uint8)


PAD_LABEL = 255
PATCH = 8


def patch_labels(scene: scenes.Scene, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(colour, shape) class per patch of the model image, row-major like the vision tower's patches.

    Colour: 0 background, 1 + index in COLOURS, len(COLOURS) + 1 padding. Shape: 0 background,
    1 + index in SHAPES, len(SHAPES) + 1 padding. A patch takes the object that covers most of it,
    or the background/padding when no object covers a quarter of it."""
    index = scenes.label_map(scene)
    w, h = index.size
    side = max(w, h)
    square = Image.new("L", (side, side), PAD_LABEL)
    square.paste(index, ((side - w) // 2, (side - h) // 2))
    pixels = np.asarray(square.resize((size, size), Image.NEAREST))
    grid = size // PATCH
    blocks = pixels.reshape(grid, PATCH, grid, PATCH).transpose(0, 2, 1, 3).reshape(grid * grid, PATCH * PATCH)
    colour_names, shape_names = list(scenes.COLOURS), list(scenes.SHAPES)
    colour = np.zeros(grid * grid, np.int64)
    shape = np.zeros(grid * grid, np.int64)
    for p, block in enumerate(blocks):
        values, counts = np.unique(block, return_counts=True)
        objects = [(c, v) for v, c in zip(values, counts, strict=True) if 0 < v < PAD_LABEL]
        if objects and max(objects)[0] * 4 >= block.size:
            obj = scene.objects[max(objects)[1] - 1]
            colour[p] = 1 + colour_names.index(obj.colour)
            shape[p] = 1 + shape_names.index(obj.shape)
        elif counts[values == PAD_LABEL].sum() * 2 > block.size:
            colour[p] = len(colour_names) + 1
            shape[p] = len(shape_names) + 1
    return colour, shape


def normalise(pixels: np.ndarray) -> np.ndarray:
    """uint8 [..., H, W, 3] -> float32 [..., 3, H, W] with CLIP mean/std."""
    x = pixels.astype(np.float32) / 255.0
    x = (x - np.array(CLIP_MEAN, dtype=np.float32)) / np.array(CLIP_STD, dtype=np.float32)
    return np.moveaxis(x, -1, -3).copy()


def make_split(out: str, split: str, seed: int, single: int, pairs: int, image_size: int) -> None:
    rng = random.Random(seed)
    total_images = single + 2 * pairs
    images = np.zeros((total_images, image_size, image_size, 3), dtype=np.uint8)
    grid = (image_size // PATCH) ** 2
    labels = {
        "colour": np.zeros((total_images, grid), np.int64),
        "shape": np.zeros((total_images, grid), np.int64),
        "background": np.zeros(total_images, np.int64),
        "count": np.zeros(total_images, np.int64),
    }
    progress = Progress(total_images, f"data:{split}")
    with open(os.path.join(out, f"samples-{split}.jsonl"), "w") as f:
        index = 0
        all_scenes = []
        for _ in range(total_images):
            scene = scenes.random_scene(rng, *scenes.random_size(rng))
            images[index] = to_model_pixels(scenes.render(scene), image_size)
            labels["colour"][index], labels["shape"][index] = patch_labels(scene, image_size)
            labels["background"][index] = list(scenes.BACKGROUNDS).index(scene.background)
            labels["count"][index] = len(scene.objects)
            all_scenes.append(scene)
            index += 1
            progress.update()
        for i in range(single):
            # Several questions per scene: the trainer samples among them each epoch.
            qa = scenes.conversations(all_scenes[i], rng)
            f.write(json.dumps({"images": [i], "qa": qa}) + "\n")
        for p in range(pairs):
            a, b = single + 2 * p, single + 2 * p + 1
            qa = scenes.two_image_conversations(all_scenes[a], all_scenes[b], rng)
            f.write(json.dumps({"images": [a, b], "qa": qa}) + "\n")
    np.save(os.path.join(out, f"images-{split}.npy"), images)
    np.savez_compressed(os.path.join(out, f"labels-{split}.npz"), **labels)


def make_text(out: str, seed: int) -> None:
    rng = random.Random(seed)
    descriptions = text_corpus.read_descriptions()
    with (
        open(os.path.join(out, "text-train.jsonl"), "w") as train,
        open(os.path.join(out, "text-heldout.jsonl"), "w") as held,
        open(os.path.join(out, "corpus.txt"), "w") as corpus,
    ):
        for d in descriptions:
            corpus.write(d.summary + "\n")
            if d.body:
                corpus.write(d.body + "\n")
            q, a = text_corpus.instruction(d, rng)
            (held if text_corpus.is_held_out(d.package) else train).write(json.dumps({"images": [], "qa": [["text", q, a]]}) + "\n")
        # The conversation vocabulary must tokenize well too.
        for _ in range(3000):
            s = scenes.random_scene(rng)
            for _, q, a in scenes.conversations(s, rng) + scenes.two_image_conversations(s, scenes.random_scene(rng), rng):
                corpus.write(f"USER: {q.replace('</s>', ' ')} ASSISTANT: {a}\n")


def run(
    out: str, seed: int = 1234, train_single: int = 16000, train_pairs: int = 1500, heldout_single: int = 400, heldout_pairs: int = 100, image_size: int = 96
) -> None:
    os.makedirs(out, exist_ok=True)
    make_text(out, seed)
    make_split(out, "train", seed, train_single, train_pairs, image_size)
    # Held-out scenes come from another seed, so no scene is shared with training.
    make_split(out, "heldout", seed + 7919, heldout_single, heldout_pairs, image_size)

"""Reference image preprocessing for CLIP / LLaVA-1.5 (PIL + numpy).

This is the ground truth the TypeScript package ``@msd/vision`` is checked
against. It follows Hugging Face's ``CLIPImageProcessor`` driven by a
``preprocessor_config.json`` plus LLaVA-1.5's pad-to-square:

1. open the image, first frame only (animated GIF / WebP);
2. apply the EXIF orientation (``ImageOps.exif_transpose``);
3. 16-bit greyscale (PIL modes ``I;16*`` / ``I``) is clipped to 0..255, as PIL's
   ``convert('RGB')`` does and so transformers' processors (most such images turn
   white; written out here so the result does not depend on the Pillow version);
4. ``convert('RGB')`` when ``do_convert_rgb``: alpha is dropped (not
   composited), palette colours are used regardless of transparency, CMYK uses
   PIL's naive formula. Embedded ICC profiles are IGNORED, as in PIL/HF;
5. pad to square (``do_pad`` or ``image_aspect_ratio == "pad"``) with the mean
   colour ``int(mean * 255)`` (LLaVA's ``expand2square``), image centred;
6. resize: ``size.shortest_edge`` (aspect kept, long side truncated as HF does)
   or ``size.height``/``size.width``, with the PIL resample filter, no reducing gap;
7. centre crop to ``crop_size`` (zero-padded when the image is smaller);
8. rescale by ``rescale_factor`` and normalise with ``image_mean``/``image_std``.

Output: float32 array shaped ``(3, H, W)`` (CHW).

CLI::

    python image_reference.py --config preprocessor_config.json --out DIR a.png b.jpg
    python image_reference.py --config cfg.json --bench 5 a.png b.jpg   # prints JSON timings
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class PreprocessorConfig:
    do_resize: bool = True
    shortest_edge: int | None = 224
    height: int | None = None
    width: int | None = None
    resample: int = 3
    do_center_crop: bool = True
    crop_height: int = 224
    crop_width: int = 224
    do_rescale: bool = True
    rescale_factor: float = 1 / 255
    do_normalize: bool = True
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD
    do_convert_rgb: bool = True
    do_pad: bool = False
    extra: dict = field(default_factory=dict)


def _triple(value, name):
    if isinstance(value, (int, float)):
        value = [value] * 3
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"{name} must be a number or 3 numbers")
    return tuple(float(v) for v in value)


def parse_config(raw: dict) -> PreprocessorConfig:
    """Build a :class:`PreprocessorConfig` from the JSON object of a preprocessor_config.json."""
    cfg = PreprocessorConfig()
    cfg.do_resize = bool(raw.get("do_resize", True))
    size = raw.get("size", 224)
    if isinstance(size, int):
        cfg.shortest_edge = size
    elif "shortest_edge" in size:
        cfg.shortest_edge = int(size["shortest_edge"])
    else:
        cfg.shortest_edge = None
        cfg.height, cfg.width = int(size["height"]), int(size["width"])
    cfg.resample = int(raw.get("resample", 3))
    cfg.do_center_crop = bool(raw.get("do_center_crop", True))
    crop = raw.get("crop_size", 224)
    if isinstance(crop, int):
        cfg.crop_height = cfg.crop_width = crop
    else:
        cfg.crop_height, cfg.crop_width = int(crop["height"]), int(crop["width"])
    cfg.do_rescale = bool(raw.get("do_rescale", True))
    cfg.rescale_factor = float(raw.get("rescale_factor", 1 / 255))
    cfg.do_normalize = bool(raw.get("do_normalize", True))
    cfg.image_mean = _triple(raw.get("image_mean", CLIP_MEAN), "image_mean")
    cfg.image_std = _triple(raw.get("image_std", CLIP_STD), "image_std")
    cfg.do_convert_rgb = bool(raw.get("do_convert_rgb", True))
    cfg.do_pad = bool(raw.get("do_pad", False)) or raw.get("image_aspect_ratio") == "pad"
    return cfg


def load_config(path: str) -> PreprocessorConfig:
    """Load a preprocessor_config.json (a file or a directory holding one)."""
    if os.path.isdir(path):
        path = os.path.join(path, "preprocessor_config.json")
    with open(path, encoding="utf-8") as handle:
        return parse_config(json.load(handle))


def decode_image(source) -> Image.Image:
    """Open ``source`` (path or file object) as an 8-bit RGB PIL image (steps 1-4)."""
    image = Image.open(source)
    image.seek(0)
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(image).astype(np.int64)
        image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return image


def pad_background(mean: Sequence[float]) -> tuple[int, int, int]:
    """LLaVA's pad colour: ``int(m * 255)`` per channel (truncation, as in expand2square)."""
    return tuple(int(m * 255) for m in mean)  # type: ignore[return-value]


def expand_to_square(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """LLaVA-1.5 ``expand2square``: centre the image on a square of ``background``."""
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    result = Image.new(image.mode, (side, side), background)
    result.paste(image, ((side - width) // 2, (side - height) // 2))
    return result


def resize_target(width: int, height: int, cfg: PreprocessorConfig) -> tuple[int, int]:
    """Output (width, height) of the resize step, as HF computes it."""
    if cfg.shortest_edge is None:
        return cfg.width, cfg.height  # type: ignore[return-value]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = cfg.shortest_edge, int(cfg.shortest_edge * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def center_crop(arr: np.ndarray, crop_h: int, crop_w: int) -> np.ndarray:
    """HF ``center_crop`` on an HWC array, zero-padding when the image is smaller."""
    h, w = arr.shape[:2]
    if h < crop_h or w < crop_w:
        top_pad = max(crop_h - h, 0) // 2
        left_pad = max(crop_w - w, 0) // 2
        padded = np.zeros((max(h, crop_h), max(w, crop_w), arr.shape[2]), arr.dtype)
        padded[top_pad : top_pad + h, left_pad : left_pad + w] = arr
        arr, h, w = padded, padded.shape[0], padded.shape[1]
    top = (h - crop_h) // 2
    left = (w - crop_w) // 2
    return arr[top : top + crop_h, left : left + crop_w]


def preprocess(source, cfg: PreprocessorConfig) -> np.ndarray:
    """The full pipeline: returns float32 ``(3, H, W)``."""
    image = decode_image(source)
    if cfg.do_pad:
        image = expand_to_square(image, pad_background(cfg.image_mean))
    if cfg.do_resize:
        image = image.resize(resize_target(*image.size, cfg), resample=cfg.resample, reducing_gap=None)
    arr = np.asarray(image, dtype=np.uint8)
    if cfg.do_center_crop:
        arr = center_crop(arr, cfg.crop_height, cfg.crop_width)
    out = arr.astype(np.float32)
    if cfg.do_rescale:
        out = out * np.float32(cfg.rescale_factor)
    if cfg.do_normalize:
        out = (out - np.asarray(cfg.image_mean, np.float32)) / np.asarray(cfg.image_std, np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


def _bench(paths: list[str], cfg: PreprocessorConfig, rounds: int) -> dict:
    blobs = []
    for path in paths:
        with open(path, "rb") as handle:
            blobs.append(handle.read())
    import io

    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for blob in blobs:
            preprocess(io.BytesIO(blob), cfg)
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    return {"images": len(paths), "rounds": rounds, "seconds": times, "median_s": median, "images_per_second": len(paths) / median}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="preprocessor_config.json or its directory")
    parser.add_argument("--out", help="directory for <image name>.npy outputs")
    parser.add_argument("--bench", type=int, default=0, help="time N rounds in-process, print JSON")
    parser.add_argument("images", nargs="+")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    if args.bench:
        print(json.dumps(_bench(args.images, cfg, args.bench)))
        return 0
    if not args.out:
        parser.error("--out is required unless --bench is given")
    os.makedirs(args.out, exist_ok=True)
    for path in args.images:
        name = os.path.splitext(os.path.basename(path))[0]
        np.save(os.path.join(args.out, f"{name}.npy"), preprocess(path, cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())

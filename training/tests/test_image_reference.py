"""Tests of the PIL reference preprocessing used as ground truth by @msd/vision."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from msd_training.image_reference import (  # noqa: E402
    CLIP_MEAN,
    CLIP_STD,
    center_crop,
    decode_image,
    expand_to_square,
    load_config,
    pad_background,
    parse_config,
    preprocess,
    resize_target,
)

LLAVA = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "vision", "test", "fixtures", "llava-preprocessor_config.json")


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> io.BytesIO:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    buf.seek(0)
    return buf


def test_llava_config():
    cfg = load_config(LLAVA)
    assert cfg.shortest_edge == 336 and (cfg.crop_height, cfg.crop_width) == (336, 336)
    assert cfg.resample == 3 and cfg.do_pad
    assert parse_config({"image_aspect_ratio": "pad"}).do_pad
    assert parse_config({"size": {"height": 384, "width": 384}}).height == 384


def test_pad_background_truncates_like_llava():
    assert pad_background(CLIP_MEAN) == (122, 116, 104)


def test_expand_to_square_centres():
    image = Image.new("RGB", (4, 2), (255, 0, 0))
    square = np.asarray(expand_to_square(image, (1, 2, 3)))
    assert square.shape == (4, 4, 3)
    assert tuple(square[0, 0]) == (1, 2, 3) and tuple(square[1, 0]) == (255, 0, 0) and tuple(square[3, 0]) == (1, 2, 3)


def test_resize_target_and_crop():
    cfg = parse_config({"size": {"shortest_edge": 336}})
    assert resize_target(640, 480, cfg) == (448, 336)
    assert resize_target(90, 1200, cfg) == (336, 4480)
    arr = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    assert center_crop(arr, 3, 3).shape == (3, 3, 3)
    assert center_crop(arr, 9, 9).shape == (9, 9, 3)


def test_constant_image_normalises_exactly():
    colour = (10, 128, 250)
    out = preprocess(encode(Image.new("RGB", (50, 80), colour)), parse_config({"size": 32, "crop_size": 32}))
    assert out.shape == (3, 32, 32) and out.dtype == np.float32
    for c in range(3):
        assert np.allclose(out[c], (colour[c] / 255 - CLIP_MEAN[c]) / CLIP_STD[c], atol=1e-6)


def test_alpha_dropped_not_composited():
    rgba = Image.new("RGBA", (4, 4), (200, 100, 50, 0))
    assert tuple(np.asarray(decode_image(encode(rgba)))[0, 0]) == (200, 100, 50)


def test_sixteen_bit_grey_clipped_as_pil_converts_it():
    values = np.array([[0, 200, 255, 256, 0xAB12, 65535]], np.uint16)
    grey = Image.fromarray(values, "I;16")
    decoded = np.asarray(decode_image(encode(grey)))[0, :, 0]
    assert decoded.tolist() == [0, 200, 255, 255, 255, 255]
    assert decoded.tolist() == np.asarray(grey.convert("RGB"))[0, :, 0].tolist()


def test_exif_orientation_applied():
    exif = Image.Exif()
    exif[0x0112] = 6
    image = decode_image(encode(Image.new("RGB", (60, 40)), "JPEG", exif=exif.tobytes()))
    assert image.size == (40, 60)


def test_cmyk_uses_pil_formula():
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))
    assert tuple(np.asarray(decode_image(encode(cmyk, "TIFF")))[0, 0]) == (255, 0, 0)


def test_cli_writes_npy(tmp_path):
    from msd_training.image_reference import main

    path = tmp_path / "a.png"
    Image.new("RGB", (20, 10), (1, 2, 3)).save(path)
    assert main(["--config", LLAVA, "--out", str(tmp_path / "out"), str(path)]) == 0
    assert np.load(tmp_path / "out" / "a.npy").shape == (3, 336, 336)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))

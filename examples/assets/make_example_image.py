"""Draw examples/assets/example.png: a seeded 640x480 scene with a few coloured shapes.

    /usr/bin/python3 examples/assets/make_example_image.py
"""
from __future__ import annotations

import os
import random

from PIL import Image, ImageDraw

SEED = 7
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "example.png")


def main() -> None:
    rng = random.Random(SEED)
    image = Image.new("RGB", (640, 480), (170, 200, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 330, 640, 480], fill=(90, 160, 80))  # grass
    draw.ellipse([520, 30, 600, 110], fill=(250, 215, 60))  # sun
    draw.rectangle([90, 200, 250, 340], fill=(200, 60, 50))  # red square (house)
    draw.polygon([(70, 200), (170, 120), (270, 200)], fill=(110, 70, 40))  # roof
    draw.ellipse([330, 250, 430, 350], fill=(40, 80, 220))  # blue circle
    draw.polygon([(470, 360), (530, 250), (590, 360)], fill=(245, 140, 30))  # orange triangle
    for _ in range(12):  # a few small purple dots with seeded positions
        x, y = rng.randint(20, 620), rng.randint(350, 470)
        draw.ellipse([x - 5, y - 5, x + 5, y + 5], fill=(140, 60, 180))
    image.save(OUT, optimize=True)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()

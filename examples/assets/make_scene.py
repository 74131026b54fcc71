"""Draw examples/assets/scene.png with the toolchain's own scene renderer (the bundled model's world):
three objects on a beige background, and print the reference description the model is trained to give.

    training/run.sh never runs this; run it with Debian's Python:
    PYTHONPATH=training /usr/bin/python3 examples/assets/make_scene.py
"""

from __future__ import annotations

import os

from msd_training import scenes

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scene.png")

SCENE = scenes.Scene(
    "beige",
    [
        scenes.SceneObject("circle", "blue", "small", 0.25, 0.27),
        scenes.SceneObject("square", "green", "large", 0.3, 0.7),
        scenes.SceneObject("diamond", "orange", "large", 0.74, 0.72),
    ],
    width=256,
    height=224,
    marks=1,
    seed=11,
)


def main() -> None:
    scenes.render(SCENE).save(OUT, optimize=True)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
    print(scenes.detailed_description(SCENE))


if __name__ == "__main__":
    main()

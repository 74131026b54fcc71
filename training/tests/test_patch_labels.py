"""The vision tower's pretraining labels describe the image the model sees, patch by patch."""

import random

import numpy as np

from msd_training import data, scenes


def test_labelled_patches_show_the_labelled_colour():
    rng = random.Random(3)
    fractions = []
    for _ in range(20):
        scene = scenes.random_scene(rng, rng.randint(160, 320), rng.randint(160, 320))
        pixels = data.to_model_pixels(scenes.render(scene), 96).astype(np.int32)
        colour, shape = data.patch_labels(scene, 96)
        names = list(scenes.COLOURS)
        for patch in range(144):
            if not 0 < colour[patch] <= len(names):
                continue
            row, col = divmod(patch, 12)
            block = pixels[row * 8 : (row + 1) * 8, col * 8 : (col + 1) * 8].reshape(-1, 3)
            expected = np.array(scenes.COLOURS[names[colour[patch] - 1]])
            # Pixels of the object's colour; bicubic resampling blurs edge patches, so only some.
            close = (np.abs(block - expected).max(axis=1) < 40).mean()
            assert close > 0.05, (patch, names[colour[patch] - 1], close)
            assert 1 <= shape[patch] <= len(scenes.SHAPES)
            fractions.append(close)
    assert len(fractions) > 50
    assert np.median(fractions) > 0.5


def test_padding_and_background_patches():
    scene = scenes.Scene("grey", [scenes.SceneObject("square", "red", "large", 0.5, 0.5)], 300, 150)
    colour, shape = data.patch_labels(scene, 96)
    grid = colour.reshape(12, 12)
    # A 2:1 image padded to a square: the top and bottom quarters are padding.
    assert (grid[:2] == len(scenes.COLOURS) + 1).all() and (grid[-2:] == len(scenes.COLOURS) + 1).all()
    assert grid[6, 6] == 1 + list(scenes.COLOURS).index("red")
    assert grid[6, 0] == 0

"""Pieces that let the toolchain train on a GPU lease: wall-clock step budgets, batched object
pooling and mirrored batches. Each is checked against the plain CPU behaviour it replaces."""

import random

import numpy as np
import torch

from msd_training import data, scenes
from msd_training.step_budget import StepBudget, pick_device
from msd_training.train_vision import mirror_half, object_groups, object_pooling


def test_fixed_steps_without_a_budget():
    budget = StepBudget(None, 123)
    assert [budget.after_step(step, torch.device("cpu")) for step in range(50)] == [123] * 50


def test_budget_fixes_the_step_count_after_calibrating(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr("msd_training.step_budget.time.time", lambda: clock["now"])
    budget = StepBudget(1.0, 5, calibrate_from=10, calibrate_to=40)
    assert budget.steps == 40  # the loop must at least reach the end of calibration
    totals = []
    for step in range(40):
        clock["now"] += 0.5  # half a second per step
        totals.append(budget.after_step(step, torch.device("cpu")))
    # 20 s spent, 40 s left at 0.5 s a step: 80 more steps after the 40th.
    assert totals[-1] == 120
    assert totals[:39] == [40] * 39


def test_pick_device_auto_is_cpu_without_a_gpu():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def _labelled_batch(count: int = 6):
    rng = random.Random(5)
    colours, shapes = [], []
    for _ in range(count):
        scene = scenes.random_scene(rng, 192, 192)
        colour, shape = data.patch_labels(scene, 96)
        colours.append(colour)
        shapes.append(shape)
    return torch.tensor(np.array(colours), dtype=torch.long), torch.tensor(np.array(shapes), dtype=torch.long)


def test_object_pooling_equals_the_per_object_loop():
    colour, shape = _labelled_batch()
    patches = torch.randn(colour.shape[0], colour.shape[1], 8, dtype=torch.float64)
    pooled, targets = object_pooling(patches, colour, shape)
    groups = object_groups(colour, shape)
    expected = torch.stack([patches[image][mask].mean(0) for image, mask, _ in groups])
    # Both enumerate objects by (image, colour, shape) in ascending order.
    assert targets.tolist() == [int(target) for _, _, target in groups]
    torch.testing.assert_close(pooled, expected)


def test_mirror_half_flips_images_and_patch_labels_together():
    colour, shape = _labelled_batch(8)
    images = np.random.default_rng(0).integers(0, 255, (8, 96, 96, 3), dtype=np.uint8)
    labels = {"colour": colour.numpy(), "shape": shape.numpy(), "count": np.arange(8)}
    mirrored, mirrored_labels = mirror_half(images, labels, np.random.default_rng(1))
    flipped = [i for i in range(8) if not np.array_equal(mirrored[i], images[i])]
    assert 0 < len(flipped) < 8
    for i in range(8):
        is_flipped = i in flipped
        np.testing.assert_array_equal(mirrored[i], images[i][:, ::-1] if is_flipped else images[i])
        grid = labels["colour"][i].reshape(12, 12)
        np.testing.assert_array_equal(mirrored_labels["colour"][i].reshape(12, 12), grid[:, ::-1] if is_flipped else grid)
    np.testing.assert_array_equal(mirrored_labels["count"], labels["count"])
    # The caller's arrays are left alone.
    assert mirrored is not images

"""Scores for long answers: which objects a description names, against the scene's ground truth.

Exact match says little about a 60-token description that gets one of four objects wrong, so a
detailed description is scored per object: the objects it names (size, colour, shape, place) are
matched against those of the reference description, which the scene generator wrote from the
scene itself, and F1 is taken over those matches at three levels of detail.
"""

from __future__ import annotations

import re
from collections import Counter

from . import scenes

_PLACES = "in the centre|on the left|on the right|at the top left|at the top right|at the bottom left|at the bottom right|at the top|at the bottom"
OBJECT = re.compile(rf"\b(?:is|It is) an? (small|large) ({'|'.join(scenes.COLOURS)}) ({'|'.join(scenes.SHAPES)}) ({_PLACES})\b")

LEVELS = {
    "colour_shape": lambda o: (o[1], o[2]),
    "position": lambda o: (o[1], o[2], o[3]),
    "full": lambda o: o,
}


def described_objects(text: str) -> list[tuple[str, str, str, str]]:
    """(size, colour, shape, place) of every object a detailed description names."""
    return [match.groups() for match in OBJECT.finditer(text)]


def f1(predicted: list, expected: list) -> float:
    if not predicted and not expected:
        return 1.0
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def description_scores(answer: str, reference: str) -> dict[str, float]:
    """F1 of the objects `answer` names against those `reference` names, per level of detail."""
    got, want = described_objects(answer), described_objects(reference)
    return {level: f1([key(o) for o in got], [key(o) for o in want]) for level, key in LEVELS.items()}

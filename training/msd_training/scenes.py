"""Procedural scenes and the conversations about them.

Every answer depends on what is drawn, so a model that ignores the image cannot
score well on the held-out split (that is the point of the blank-image control).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 210, 40),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
BACKGROUNDS = {
    "grey": (128, 128, 128),
    "light blue": (170, 200, 235),
    "beige": (225, 210, 180),
    "dark green": (30, 80, 50),
}
SHAPES = ("circle", "square", "triangle", "diamond")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five")


@dataclass
class SceneObject:
    shape: str
    colour: str
    size: str  # "small" | "large"
    cx: float  # centre, as a fraction of the width
    cy: float  # centre, as a fraction of the height

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"

    def horizontal(self) -> str:
        return "left" if self.cx < 0.4 else "right" if self.cx > 0.6 else "middle"

    def vertical(self) -> str:
        return "top" if self.cy < 0.4 else "bottom" if self.cy > 0.6 else "middle"

    def place(self) -> str:
        """Where in the image, in the words the detailed descriptions use ("at the top left", "in the centre")."""
        h, v = self.horizontal(), self.vertical()
        if h == "middle" and v == "middle":
            return "in the centre"
        if v == "middle":
            return f"on the {h}"
        if h == "middle":
            return f"at the {v}"
        return f"at the {v} {h}"


@dataclass
class Scene:
    background: str
    objects: list[SceneObject]
    width: int
    height: int
    marks: int = 0  # scribbled text-like marks, never asked about
    seed: int = 0
    extra: dict = field(default_factory=dict)


# Radius as a fraction of the shorter side. Model images are 96 px in 8 px patches, so a small object
# spans about 3 patches and a large one about 4-5: wide enough for the tower to see its outline.
RADIUS = {"small": 0.13, "large": 0.2}
# Aspect ratios stay within 3:2, so after LLaVA's pad-to-square objects keep at least 2/3 of that size.
MIN_SIDE, MAX_SIDE = 176, 256


def random_size(rng: random.Random) -> tuple[int, int]:
    return rng.randint(MIN_SIDE, MAX_SIDE), rng.randint(MIN_SIDE, MAX_SIDE)


def random_scene(rng: random.Random, width: int = 192, height: int = 192) -> Scene:
    """Up to four objects with distinct (colour, shape) pairs so names are unambiguous."""
    background = rng.choice(list(BACKGROUNDS))
    count = rng.randint(1, 4)
    palette = [c for c in COLOURS if _contrast(COLOURS[c], BACKGROUNDS[background]) > 90]
    used: set[tuple[str, str]] = set()
    objects: list[SceneObject] = []
    attempts = 0
    while len(objects) < count and attempts < 100:
        attempts += 1
        obj = SceneObject(
            shape=rng.choice(SHAPES),
            colour=rng.choice(palette),
            size=rng.choice(("small", "large")),
            cx=rng.uniform(0.18, 0.82),
            cy=rng.uniform(0.18, 0.82),
        )
        if (obj.colour, obj.shape) in used:
            continue
        # Objects may touch but not hide each other: centres stay most of two radii apart.
        side = min(width, height)
        if any(math.hypot((obj.cx - o.cx) * width, (obj.cy - o.cy) * height) < 0.85 * side * (RADIUS[obj.size] + RADIUS[o.size]) for o in objects):
            continue
        used.add((obj.colour, obj.shape))
        objects.append(obj)
    return Scene(background, objects, width, height, marks=rng.randint(0, 3), seed=rng.randrange(1 << 30))


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def render(scene: Scene) -> Image.Image:
    image = Image.new("RGB", (scene.width, scene.height), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(image)
    rng = random.Random(scene.seed)
    for _ in range(scene.marks):
        _draw_marks(draw, rng, scene)
    for obj in scene.objects:
        _draw_object(draw, scene, obj, COLOURS[obj.colour])
    return image


def _draw_object(draw: ImageDraw.ImageDraw, scene: Scene, obj: SceneObject, fill) -> None:
    radius = min(scene.width, scene.height) * RADIUS[obj.size]
    x, y = obj.cx * scene.width, obj.cy * scene.height
    if obj.shape == "circle":
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)
    elif obj.shape == "square":
        draw.rectangle((x - radius, y - radius, x + radius, y + radius), fill=fill)
    elif obj.shape == "triangle":
        draw.polygon([(x, y - radius), (x - radius, y + radius), (x + radius, y + radius)], fill=fill)
    else:
        draw.polygon([(x, y - radius), (x + radius, y), (x, y + radius), (x - radius, y)], fill=fill)


def label_map(scene: Scene) -> Image.Image:
    """Which object covers each pixel ("L" image: 0 background, i + 1 the i-th object, later objects on top).

    Drawn with the same geometry as `render`, so it is the ground truth the vision tower is
    pretrained on (colour and shape per patch)."""
    image = Image.new("L", (scene.width, scene.height), 0)
    draw = ImageDraw.Draw(image)
    for index, obj in enumerate(scene.objects):
        _draw_object(draw, scene, obj, index + 1)
    return image


def _draw_marks(draw: ImageDraw.ImageDraw, rng: random.Random, scene: Scene) -> None:
    """A short row of thin strokes that looks like handwriting: texture the model must learn to ignore."""
    x = rng.uniform(0.05, 0.6) * scene.width
    y = rng.uniform(0.05, 0.95) * scene.height
    shade = tuple(max(0, c - 60) for c in BACKGROUNDS[scene.background])
    for _ in range(rng.randint(3, 7)):
        w = rng.uniform(3, 8)
        draw.line((x, y, x + w, y + rng.uniform(-4, 4)), fill=shade, width=1)
        x += w + rng.uniform(1, 4)


# ---------------------------------------------------------------- conversations


def _count_phrase(n: int, noun: str = "shape") -> str:
    word = NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)
    return f"{word} {noun}" + ("" if n == 1 else "s")


def _article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def caption(scene: Scene) -> str:
    parts = []
    for obj in scene.objects:
        where = obj.horizontal() if obj.horizontal() != "middle" else obj.vertical()
        where_text = "in the middle" if where == "middle" else f"at the {where}" if where in ("top", "bottom") else f"on the {where}"
        parts.append(f"{_article(obj.size + ' ' + obj.name)} {where_text}")
    listing = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    n = len(scene.objects)
    verb = "is" if n == 1 else "are"
    return f"There {verb} {_count_phrase(n)} on a {scene.background} background: {listing}."


def questions(scene: Scene, rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, question, answer) triples; the caller samples one per example."""
    objs = scene.objects
    n = len(objs)
    items: list[tuple[str, str, str]] = [
        ("caption", rng.choice(["Describe the image.", "What do you see in this picture?", "Give a short description of the image."]), caption(scene)),
        ("count", "How many shapes are there?", f"There {'is' if n == 1 else 'are'} {_count_phrase(n)}."),
        ("background", "What colour is the background?", f"The background is {scene.background}."),
    ]
    target = rng.choice(objs)
    unique_shape = [o for o in objs if sum(p.shape == o.shape for p in objs) == 1]
    if unique_shape:
        asked = rng.choice(unique_shape)
        items.append(("colour", f"What colour is the {asked.shape}?", f"The {asked.shape} is {asked.colour}."))
    unique_colour = [o for o in objs if sum(p.colour == o.colour for p in objs) == 1]
    if unique_colour:
        asked = rng.choice(unique_colour)
        items.append(("shape", f"What shape is the {asked.colour} object?", f"It is {_article(asked.shape)}."))
    items.append(
        (
            "position",
            f"Where is the {target.name}?",
            f"The {target.name} is on the {target.horizontal()} side." if target.horizontal() != "middle" else f"The {target.name} is in the middle.",
        )
    )
    # yes/no about presence, half true, half false
    if rng.random() < 0.5:
        asked = rng.choice(objs)
        items.append(("yesno", f"Is there {_article(asked.name)}?", f"Yes, there is {_article(asked.name)}."))
    else:
        present = {(o.colour, o.shape) for o in objs}
        colour, shape = rng.choice([(c, s) for c in COLOURS for s in SHAPES if (c, s) not in present])
        items.append(("yesno", f"Is there {_article(colour + ' ' + shape)}?", f"No, there is no {colour} {shape}."))
    shape_counts = {s: sum(o.shape == s for o in objs) for s in SHAPES}
    asked_shape = rng.choice(SHAPES)
    k = shape_counts[asked_shape]
    items.append(
        (
            "count",
            f"How many {asked_shape}s are there?",
            (f"There are no {asked_shape}s." if k == 0 else f"There {'is' if k == 1 else 'are'} {_count_phrase(k, asked_shape)}."),
        )
    )
    if n >= 2:
        a, b = rng.sample(objs, 2)
        relation = "left of" if a.cx < b.cx else "right of"
        items.append(
            (
                "spatial",
                f"Is the {a.name} to the left of the {b.name}?",
                f"Yes, the {a.name} is to the left of the {b.name}." if relation == "left of" else f"No, the {a.name} is to the right of the {b.name}.",
            )
        )
        items.append(("spatial", f"Which is higher, the {a.name} or the {b.name}?", f"The {(a if a.cy < b.cy else b).name} is higher."))
        if a.size != b.size:
            bigger = a if a.size == "large" else b
            items.append(("compare", f"Which is larger, the {a.name} or the {b.name}?", f"The {bigger.name} is larger."))
    return items


def two_image_questions(first: Scene, second: Scene, rng: random.Random) -> list[tuple[str, str, str]]:
    n1, n2 = len(first.objects), len(second.objects)
    more = "The first image has more shapes." if n1 > n2 else "The second image has more shapes." if n2 > n1 else "Both images have the same number of shapes."
    which = rng.choice((0, 1))
    chosen = (first, second)[which]
    ordinal = ("first", "second")[which]
    return [
        ("two-count", "Which image has more shapes?", more),
        ("two-background", f"What colour is the background of the {ordinal} image?", f"The background of the {ordinal} image is {chosen.background}."),
        ("two-caption", f"Describe the {ordinal} image.", caption(chosen)),
        (
            "two-same",
            "Do the two images have the same background?",
            "Yes, both backgrounds are " + first.background + "."
            if first.background == second.background
            else f"No, the first is {first.background} and the second is {second.background}.",
        ),
    ]


# ---------------------------------------------------------------- long answers
#
# What users ask a VLM for: descriptions that name every object with its colour, shape, size and place
# and how the objects relate, counting step by step, comparisons, follow-ups and two-image comparisons.
# Objects are always listed in reading order (top to bottom, then left to right), so a description has
# one right answer and the model learns to read the image rather than guess an order.

ORDINALS = ("first", "second", "third", "fourth", "fifth")


def reading_order(scene: Scene) -> list[SceneObject]:
    band = {"top": 0, "middle": 1, "bottom": 2}
    return sorted(scene.objects, key=lambda o: (band[o.vertical()], o.cx))


def relation(a: SceneObject, b: SceneObject) -> str:
    """Where a is relative to b ("above and to the left of"), from their centres."""
    vertical = "above" if a.cy < b.cy - 0.15 else "below" if a.cy > b.cy + 0.15 else ""
    horizontal = "to the left of" if a.cx < b.cx - 0.15 else "to the right of" if a.cx > b.cx + 0.15 else ""
    if vertical and horizontal:
        return f"{vertical} and {horizontal}"
    return vertical or horizontal or "next to"


def _object_phrase(obj: SceneObject) -> str:
    return f"{_article(obj.size + ' ' + obj.name)} {obj.place()}"


def detailed_description(scene: Scene) -> str:
    objects = reading_order(scene)
    n = len(objects)
    sentences = [f"The image shows {_count_phrase(n)} on a {scene.background} background."]
    if n == 1:
        sentences.append(f"It is {_object_phrase(objects[0])}.")
    else:
        sentences += [f"The {ORDINALS[i]} is {_object_phrase(obj)}." for i, obj in enumerate(objects)]
        sentences += [f"The {a.name} is {relation(a, b)} the {b.name}." for a, b in zip(objects, objects[1:], strict=False)]
    large = [o for o in objects if o.size == "large"]
    if n > 1 and 0 < len(large) < n:
        sentences.append(f"The largest {'shape is the ' + large[0].name if len(large) == 1 else 'shapes are the ' + _join([o.name for o in large])}.")
    return " ".join(sentences)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def counting_steps(scene: Scene) -> str:
    objects = reading_order(scene)
    steps = [f"{NUMBER_WORDS[i + 1].capitalize()}: the {obj.name} {obj.place()}." for i, obj in enumerate(objects)]
    return f"Let me count them one by one. {' '.join(steps)} So there {'is' if len(objects) == 1 else 'are'} {_count_phrase(len(objects))}."


def pair_comparison(a: SceneObject, b: SceneObject) -> str:
    if a.size == b.size:
        size = f"Both are {a.size}."
    else:
        bigger = a if a.size == "large" else b
        smaller = b if bigger is a else a
        size = f"The {bigger.name} is large and the {smaller.name} is small, so the {bigger.name} is larger."
    colour = "They have the same colour." if a.colour == b.colour else f"The first is {a.colour} and the second is {b.colour}."
    shape = f"Both are {a.shape}s." if a.shape == b.shape else f"One is {_article(a.shape)} and the other is {_article(b.shape)}."
    return f"{size} {colour} {shape} The {a.name} is {relation(a, b)} the {b.name}."


def _scene_summary(scene: Scene) -> str:
    objects = reading_order(scene)
    return f"{_count_phrase(len(objects))} on a {scene.background} background: {_join([_article(o.size + ' ' + o.name) for o in objects])}"


def image_comparison(first: Scene, second: Scene) -> str:
    n1, n2 = len(first.objects), len(second.objects)
    more = "the first image has more shapes" if n1 > n2 else "the second image has more shapes" if n2 > n1 else "both have the same number of shapes"
    background = (
        f"both backgrounds are {first.background}"
        if first.background == second.background
        else f"the backgrounds are {first.background} and {second.background}"
    )
    shared = sorted({o.name for o in first.objects} & {o.name for o in second.objects})
    common = f"Both images have {_article(shared[0])}." if len(shared) == 1 else f"Both images have the {_join(shared)}." if shared else "They share no shape."
    return f"The first image has {_scene_summary(first)}. The second image has {_scene_summary(second)}. So {more}, and {background}. {common}"


def follow_up(scene: Scene, rng: random.Random) -> tuple[str, str]:
    """A two-turn conversation: a short first question, then a follow-up about the same object.

    The history is part of the question: `USER: Q1 ASSISTANT: A1</s>USER: Q2`, LLaVA-1.5's format."""
    obj = rng.choice(scene.objects)
    first_q, first_a = f"Is there {_article(obj.name)}?", f"Yes, there is {_article(obj.name)}."
    others = [o for o in reading_order(scene) if o is not obj]
    if others and rng.random() < 0.5:
        other = rng.choice(others)
        question, answer = f"Where is it compared to the {other.name}?", f"The {obj.name} is {relation(obj, other)} the {other.name}."
    else:
        question = "Tell me more about it."
        answer = f"The {obj.name} is {obj.size} and it is {obj.place()}." + (
            f" It is {relation(obj, others[0])} the {others[0].name}." if others else " It is the only shape in the image."
        )
    return f"{first_q} ASSISTANT: {first_a}</s>USER: {question}", answer


DETAIL_QUESTIONS = ("Describe the image in detail.", "Describe everything you see in this image.", "What is in this picture? Give a detailed answer.")


def long_questions(scene: Scene, rng: random.Random) -> list[tuple[str, str, str]]:
    items = [("detailed", rng.choice(DETAIL_QUESTIONS), detailed_description(scene))]
    items.append(("count-steps", "How many shapes are there? Count them step by step.", counting_steps(scene)))
    if len(scene.objects) >= 2:
        a, b = rng.sample(scene.objects, 2)
        items.append(("compare-detail", f"Compare the {a.name} and the {b.name}.", pair_comparison(a, b)))
    question, answer = follow_up(scene, rng)
    items.append(("follow-up", question, answer))
    return items


def conversations(scene: Scene, rng: random.Random) -> list[tuple[str, str, str]]:
    """Short questions and long ones for one image; the trainer samples one per visit, and the
    detailed description is listed three times so long answers are about 40% of image samples."""
    long = long_questions(scene, rng)
    return questions(scene, rng) + long + [long[0], long[0]]


def two_image_conversations(first: Scene, second: Scene, rng: random.Random) -> list[tuple[str, str, str]]:
    compare = (
        "two-compare",
        rng.choice(("Compare the two images.", "What is different between the two images? Describe both.")),
        image_comparison(first, second),
    )
    return two_image_questions(first, second, rng) + [compare, compare]

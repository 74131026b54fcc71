"""Conversations in LLaVA's JSON format, checked up front and turned into `DraftSample`s.

    [{"id": "000001", "image": "coco/000001.jpg",            # or a list of paths, or absent (text-only)
      "conversations": [{"from": "human", "value": "<image>\\nWhat is on the table?"},
                        {"from": "gpt", "value": "A cup of coffee."}, ...]}, ...]

Each `<image>` in a human turn places the next image; a record whose turns name none gets its
images at the start of the first turn, as LLaVA's own training code does. Prompts are rendered with
the checkpoint's processor (its chat template, tokenizer and image processor, through transformers),
which is what msd reproduces at inference (docs/real-checkpoints.md, conformance suite).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

IMAGE_PLACEHOLDER = "<image>"
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


class DatasetError(ValueError):
    """The conversation file cannot be used; the message names the record and the problem."""


@dataclass
class Conversation:
    id: str
    images: list[str]  # absolute paths
    turns: list[tuple[str, str]]  # (role, text) with role user / assistant / system

    @property
    def rounds(self) -> int:
        return sum(1 for role, _ in self.turns if role == "assistant")


def _record_name(index: int, record: dict) -> str:
    return f"record {index}" + (f" (id {record['id']!r})" if isinstance(record, dict) and "id" in record else "")


def _turns(name: str, conversations) -> list[tuple[str, str]]:
    if not isinstance(conversations, list) or not conversations:
        raise DatasetError(f"{name}: 'conversations' must be a non-empty list of {{'from', 'value'}} turns")
    turns = []
    for number, turn in enumerate(conversations):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str) or turn.get("from") not in ROLES:
            raise DatasetError(f"{name}: turn {number} must be {{'from': one of {sorted(ROLES)}, 'value': text}}, got {turn!r:.120}")
        turns.append((ROLES[turn["from"]], turn["value"]))
    body = turns[1:] if turns[0][0] == "system" else turns
    expected = ["user", "assistant"] * ((len(body) + 1) // 2)
    if [role for role, _ in body] != expected[: len(body)] or not body or body[-1][0] != "assistant":
        raise DatasetError(f"{name}: turns must alternate human, gpt (an optional system turn first) and end with a gpt turn")
    return turns


def read_conversations(path: str, image_folder: str | None = None, limit: int | None = None) -> list[Conversation]:
    """Every record checked (structure, roles, image files, `<image>` counts) before any model work."""
    try:
        with open(path, encoding="utf-8") as file:
            records = json.load(file) if not path.endswith(".jsonl") else [json.loads(line) for line in file if line.strip()]
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(f"{path}: cannot read the conversation file: {error}") from error
    if not isinstance(records, list) or not records:
        raise DatasetError(f"{path}: expected a JSON list of LLaVA records (or JSON lines), got {type(records).__name__}")
    folder = image_folder or os.path.dirname(os.path.abspath(path))
    conversations = []
    for index, record in enumerate(records[:limit] if limit else records):
        name = _record_name(index, record)
        if not isinstance(record, dict):
            raise DatasetError(f"{name}: expected an object with 'conversations'")
        turns = _turns(name, record.get("conversations"))
        image = record.get("image", [])
        images = [image] if isinstance(image, str) else image
        if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
            raise DatasetError(f"{name}: 'image' must be a path or a list of paths")
        paths = [p if os.path.isabs(p) else os.path.join(folder, p) for p in images]
        for image_path in paths:
            if not os.path.isfile(image_path):
                raise DatasetError(f"{name}: image {image_path} does not exist (relative paths resolve against --image-folder, default the file's folder)")
        placeholders = sum(text.count(IMAGE_PLACEHOLDER) for role, text in turns if role == "user")
        if placeholders == 0 and paths:
            first = next(i for i, (role, _) in enumerate(turns) if role == "user")
            turns[first] = ("user", IMAGE_PLACEHOLDER * len(paths) + "\n" + turns[first][1])
        elif placeholders != len(paths):
            raise DatasetError(f"{name}: the human turns hold {placeholders} {IMAGE_PLACEHOLDER} placeholders for {len(paths)} images")
        conversations.append(Conversation(str(record.get("id", index)), paths, turns))
    return conversations


def chat_messages(turns: list[tuple[str, str]]) -> list[dict]:
    """transformers' chat messages; `<image>` becomes an image part where it stood."""
    messages = []
    for role, text in turns:
        pieces = text.split(IMAGE_PLACEHOLDER)
        content = []
        for number, piece in enumerate(pieces):
            if number:
                content.append({"type": "image"})
            if piece.strip():
                content.append({"type": "text", "text": piece.strip()})
        messages.append({"role": role, "content": content})
    return messages

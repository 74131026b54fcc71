"""Token ids of LLaVA-1.5 conversations, encoded exactly as the TypeScript tokenizer does.

Hugging Face tokenizers split the text at special tokens (`<image>`) first and normalise each
piece on its own, so SentencePiece's dummy prefix lands on every piece. Encoding piece by piece
with SentencePiece reproduces that; `tests/test_conversation.py` pins it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sentencepiece as spm

IMAGE_PLACEHOLDER = "<image>"
# Ends an assistant turn inside a multi-turn prompt (LLaVA-1.5: `... ASSISTANT: A1</s>USER: Q2 ASSISTANT:`).
END_OF_TURN = "</s>"


@dataclass
class SpecialIds:
    bos: int
    eos: int
    image: int
    pad: int
    image_tokens: int  # positions per image


def prompt_text(question: str, images: int) -> str:
    return "USER: " + "".join(f"{IMAGE_PLACEHOLDER}\n" for _ in range(images)) + f"{question} ASSISTANT:"


class ConversationEncoder:
    def __init__(self, sp: spm.SentencePieceProcessor, ids: SpecialIds):
        self.sp, self.ids = sp, ids

    def encode_prompt(self, text: str) -> list[int]:
        """BOS + pieces, each `<image>` expanded to image_tokens image ids and each `</s>` to EOS."""
        out = [self.ids.bos]
        turns = text.split(END_OF_TURN)
        for t, turn in enumerate(turns):
            pieces = turn.split(IMAGE_PLACEHOLDER)
            for i, piece in enumerate(pieces):
                if piece:
                    out.extend(self.sp.encode(piece))
                if i < len(pieces) - 1:
                    out.extend([self.ids.image] * self.ids.image_tokens)
            if t < len(turns) - 1:
                out.append(self.ids.eos)
        return out

    def encode_question(self, question: str, images: int) -> list[int]:
        """The prompt's ids for a question asked after `images` images: what the model answers from."""
        return self.encode_prompt(prompt_text(question, images))

    def encode_example(self, question: str, answer: str, images: int) -> tuple[list[int], list[int]]:
        """(ids, loss mask): the answer and EOS are learned, nothing else."""
        prompt = prompt_text(question, images)
        prompt_ids = self.encode_question(question, images)
        full_ids = self.encode_prompt(f"{prompt} {answer}")
        # Pieces never span whitespace, so the prompt's ids are a prefix of the full ids.
        assert full_ids[: len(prompt_ids)] == prompt_ids, (prompt, answer)
        ids = full_ids + [self.ids.eos]
        mask = [0] * len(prompt_ids) + [1] * (len(ids) - len(prompt_ids))
        return ids, mask

"""Stage 2 — tokenizer: SentencePiece BPE with byte fallback, exported as tokenizer.json."""

from __future__ import annotations

import os

import sentencepiece as spm

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ 'USER: ' }}"
    "{% else %}{{ ' ASSISTANT: ' if loop.index0 > 0 else 'ASSISTANT: ' }}{% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<image>\n' }}{% else %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] != 'user' %}{{ eos_token }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ ' ASSISTANT:' }}{% endif %}"
)


def train(run_dir: str, vocab_size: int = 4000, seed: int = 1234) -> str:
    prefix = os.path.join(run_dir, "sp")
    spm.SentencePieceTrainer.train(
        input=os.path.join(run_dir, "corpus.txt"),
        model_prefix=prefix,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        split_digits=True,
        character_coverage=0.9995,
        input_sentence_size=400000,
        shuffle_input_sentence=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=2,
        minloglevel=1,
    )
    return prefix + ".model"

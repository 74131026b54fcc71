"""Convert a trained SentencePiece BPE model into a Llama-style Hugging Face tokenizer.

The output is what `@msd/tokenizer` (and Hugging Face `tokenizers`) loads:

* ``tokenizer.json``: normalizer ``Sequence[Prepend("▁"), Replace(" ", "▁")]``, no pre-tokenizer,
  a ``BPE`` model with ``byte_fallback``, the SentencePiece pieces as vocabulary (same ids), merges ranked
  the way SentencePiece ranks them (by the merged piece's score, i.e. its id for a trained BPE model),
  the decoder ``Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)]``, a
  ``TemplateProcessing`` post-processor that adds BOS, and ``added_tokens`` for the control pieces
  (``<unk>``, ``<s>``, ``</s>``) plus any extra special tokens (``<image>``...) appended after the vocabulary.
* ``tokenizer_config.json``: bos/eos/unk/pad tokens, ``add_bos_token``, ``clean_up_tokenization_spaces: false``
  (exact decode round trips), ``added_tokens_decoder`` and a jinja ``chat_template`` (LLaVA-1.5 conversation format).

Written from the file-format facts; the conversion is exact for models trained with
``model_type=bpe``, ``byte_fallback=True``, ``normalization_rule_name=identity`` and
``remove_extra_whitespaces=False`` (other normalizations cannot be expressed by this normalizer, so they are refused).

Usage (from ``training/``)::

    /usr/bin/python3 -m msd_training.tokenizer_export --model x.model --out DIR --special '<image>'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as sp_pb2

SPACE_MARKER = "\u2581"  # "▁", SentencePiece's whitespace symbol
_PIECE_TYPE = sp_pb2.ModelProto.SentencePiece.Type
_BPE_MODEL_TYPE = 2  # TrainerSpec.ModelType.BPE


class TokenizerExportError(ValueError):
    """The SentencePiece model cannot be converted exactly, or the options are inconsistent."""


def llava_chat_template(image_token: str | None) -> str:
    """A jinja chat template producing the LLaVA-1.5 conversation format.

    ``<s>{system} USER: <image>\\n{question} ASSISTANT: {answer}</s>USER: ... ASSISTANT:``

    ``content`` may be a string or a list of parts ``{"type": "text", "text": ...}`` / ``{"type": "image"}``;
    image parts render as the image token followed by a newline, in place.
    """
    image = json.dumps((image_token or "") + "\n")  # a jinja string literal (JSON escapes are valid jinja)
    content = (
        "{% if message['content'] is string %}{{ message['content'] }}"
        "{% else %}{% for part in message['content'] %}"
        "{% if part['type'] == 'image' %}{{ " + image + " }}"
        "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
        "{% endfor %}{% endif %}"
    )
    return (
        "{{ bos_token }}"
        "{% for message in messages %}"
        "{% if message['role'] == 'system' %}" + content + "{{ ' ' }}"
        "{% elif message['role'] == 'user' %}{{ 'USER: ' }}" + content + "{{ ' ' }}"
        "{% elif message['role'] == 'assistant' %}{{ 'ASSISTANT: ' }}" + content + "{{ eos_token }}"
        "{% endif %}"
        "{% endfor %}"
        "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
    )


@dataclass
class ExportOptions:
    """What to add on top of the SentencePiece vocabulary."""

    special_tokens: list[str] = field(default_factory=list)
    """Extra special tokens appended after the vocabulary, in order (e.g. ``["<image>"]``)."""
    image_token: str | None = None
    """The image placeholder; defaults to ``<image>`` when that is among ``special_tokens``."""
    pad_token: str | None = None
    """Padding token; defaults to the unknown piece (Llama convention)."""
    add_bos_token: bool = True
    add_eos_token: bool = False
    chat_template: str | None = None
    """Jinja chat template; defaults to :func:`llava_chat_template`."""
    model_max_length: int = 4096


def _added_token(token_id: int, content: str, special: bool = True) -> dict[str, Any]:
    return {
        "id": token_id,
        "content": content,
        "single_word": False,
        "lstrip": False,
        "rstrip": False,
        "normalized": False,
        "special": special,
    }


def load_model_proto(model_path: str) -> sp_pb2.ModelProto:
    proto = sp_pb2.ModelProto()
    try:
        with open(model_path, "rb") as handle:
            proto.ParseFromString(handle.read())
    except OSError as error:
        raise TokenizerExportError(f"{model_path}: cannot read the SentencePiece model ({error}).") from error
    except Exception as error:  # protobuf DecodeError
        raise TokenizerExportError(f"{model_path}: not a SentencePiece model file ({error}).") from error
    if not proto.pieces:
        raise TokenizerExportError(f"{model_path}: the model has no pieces.")
    return proto


def _check_convertible(proto: sp_pb2.ModelProto) -> None:
    trainer, normalizer = proto.trainer_spec, proto.normalizer_spec
    if trainer.model_type != _BPE_MODEL_TYPE:
        raise TokenizerExportError("only BPE SentencePiece models are supported (train with model_type=bpe).")
    if not trainer.byte_fallback:
        raise TokenizerExportError("the model must be trained with byte_fallback=True.")
    if normalizer.name not in ("identity", "") or normalizer.precompiled_charsmap:
        raise TokenizerExportError(f"normalization rule {normalizer.name!r} cannot be reproduced exactly; train with normalization_rule_name=identity.")
    if normalizer.remove_extra_whitespaces:
        raise TokenizerExportError("train with remove_extra_whitespaces=False (whitespace must survive round trips).")
    if not normalizer.escape_whitespaces:
        raise TokenizerExportError("the model must escape whitespace as '▁' (the SentencePiece default).")
    if trainer.treat_whitespace_as_suffix:
        raise TokenizerExportError("treat_whitespace_as_suffix=True is not supported.")


def _merges(proto: sp_pb2.ModelProto, vocab: dict[str, int]) -> list[list[str]]:
    """Every pair (a, b) of pieces whose concatenation is a normal piece, ranked as SentencePiece ranks merges.

    SentencePiece's BPE encoder repeatedly merges the adjacent symbol pair whose concatenation is the
    vocabulary piece with the highest score (leftmost on ties). A trained BPE model scores pieces by
    merge order, so the rank is the merged piece's id; sorting by (-score, id) says the same and stays
    exact if scores were edited.
    """
    normal = {piece.piece for piece in proto.pieces if piece.type == _PIECE_TYPE.NORMAL}
    ranked: list[tuple[float, int, int, str, str]] = []
    for piece_id, piece in enumerate(proto.pieces):
        if piece.type != _PIECE_TYPE.NORMAL:
            continue
        text = piece.piece
        for cut in range(1, len(text)):
            left, right = text[:cut], text[cut:]
            if left in normal and right in normal:
                ranked.append((-piece.score, piece_id, cut, left, right))
    ranked.sort()
    return [[left, right] for _, _, _, left, right in ranked]


def build_tokenizer_json(proto: sp_pb2.ModelProto, options: ExportOptions | None = None) -> dict[str, Any]:
    """The ``tokenizer.json`` object for a SentencePiece BPE model."""
    options = options or ExportOptions()
    _check_convertible(proto)
    trainer, normalizer = proto.trainer_spec, proto.normalizer_spec
    vocab: dict[str, int] = {}
    added: list[dict[str, Any]] = []
    for piece_id, piece in enumerate(proto.pieces):
        if piece.piece in vocab:
            raise TokenizerExportError(f"duplicate piece {piece.piece!r} at ids {vocab[piece.piece]} and {piece_id}.")
        vocab[piece.piece] = piece_id
        if piece.type in (_PIECE_TYPE.CONTROL, _PIECE_TYPE.UNKNOWN):
            added.append(_added_token(piece_id, piece.piece, special=True))
        elif piece.type == _PIECE_TYPE.USER_DEFINED:
            added.append(_added_token(piece_id, piece.piece, special=False))
    for offset, token in enumerate(_dedupe(options.special_tokens)):
        if token in vocab:
            raise TokenizerExportError(f"special token {token!r} is already a piece of the model (id {vocab[token]}); pass only tokens that are new.")
        added.append(_added_token(len(proto.pieces) + offset, token, special=True))

    unk = proto.pieces[trainer.unk_id].piece if trainer.unk_id >= 0 else None
    bos = proto.pieces[trainer.bos_id].piece if trainer.bos_id >= 0 else None
    eos = proto.pieces[trainer.eos_id].piece if trainer.eos_id >= 0 else None

    normalizers: list[dict[str, Any]] = []
    if normalizer.add_dummy_prefix:
        normalizers.append({"type": "Prepend", "prepend": SPACE_MARKER})
    normalizers.append({"type": "Replace", "pattern": {"String": " "}, "content": SPACE_MARKER})

    decoders: list[dict[str, Any]] = [
        {"type": "Replace", "pattern": {"String": SPACE_MARKER}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]
    if normalizer.add_dummy_prefix:
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None,
        "post_processor": _post_processor(vocab, bos if options.add_bos_token else None, eos if options.add_eos_token else None),
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": unk,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": _merges(proto, vocab),
        },
    }


def _dedupe(tokens: list[str]) -> list[str]:
    seen: list[str] = []
    for token in tokens:
        if not token:
            raise TokenizerExportError("special tokens must be non-empty strings.")
        if token not in seen:
            seen.append(token)
    return seen


def _post_processor(vocab: dict[str, int], bos: str | None, eos: str | None) -> dict[str, Any]:
    def special(token: str) -> dict[str, Any]:
        return {"SpecialToken": {"id": token, "type_id": 0}}

    def sequence(name: str, type_id: int) -> dict[str, Any]:
        return {"Sequence": {"id": name, "type_id": type_id}}

    head = [special(bos)] if bos else []
    tail = [special(eos)] if eos else []
    used = [token for token in (bos, eos) if token]
    return {
        "type": "TemplateProcessing",
        "single": head + [sequence("A", 0)] + tail,
        "pair": head + [sequence("A", 0)] + tail + head + [sequence("B", 1)] + tail,
        "special_tokens": {token: {"id": token, "ids": [vocab[token]], "tokens": [token]} for token in used},
    }


def build_tokenizer_config(tokenizer_json: dict[str, Any], proto: sp_pb2.ModelProto, options: ExportOptions | None = None) -> dict[str, Any]:
    """The ``tokenizer_config.json`` object matching :func:`build_tokenizer_json`."""
    options = options or ExportOptions()
    trainer = proto.trainer_spec
    unk = proto.pieces[trainer.unk_id].piece if trainer.unk_id >= 0 else None
    bos = proto.pieces[trainer.bos_id].piece if trainer.bos_id >= 0 else None
    eos = proto.pieces[trainer.eos_id].piece if trainer.eos_id >= 0 else None
    specials = _dedupe(options.special_tokens)
    image_token = options.image_token
    if image_token is None and "<image>" in specials:
        image_token = "<image>"
    known = {token["content"] for token in tokenizer_json["added_tokens"]}
    if image_token is not None and image_token not in known:
        raise TokenizerExportError(f"image token {image_token!r} is not among the special tokens; add it with --special.")
    pad = options.pad_token if options.pad_token is not None else unk
    if pad is not None and pad not in known:
        raise TokenizerExportError(f"pad token {pad!r} is not a special token; add it with --special.")
    config: dict[str, Any] = {
        "tokenizer_class": "LlamaTokenizer",
        "add_bos_token": options.add_bos_token,
        "add_eos_token": options.add_eos_token,
        "bos_token": bos,
        "eos_token": eos,
        "unk_token": unk,
        "pad_token": pad,
        "clean_up_tokenization_spaces": False,
        "spaces_between_special_tokens": False,
        "legacy": True,
        "model_max_length": options.model_max_length,
        "additional_special_tokens": specials,
        "added_tokens_decoder": {str(token["id"]): {key: value for key, value in token.items() if key != "id"} for token in tokenizer_json["added_tokens"]},
        "chat_template": options.chat_template if options.chat_template is not None else llava_chat_template(image_token),
    }
    if image_token is not None:
        config["image_token"] = image_token
    return config


def export_tokenizer(model_path: str, out_dir: str, options: ExportOptions | None = None) -> dict[str, str]:
    """Write ``tokenizer.json`` and ``tokenizer_config.json`` for ``model_path`` into ``out_dir``.

    Returns the paths written, keyed by file name.
    """
    options = options or ExportOptions()
    proto = load_model_proto(model_path)
    tokenizer_json = build_tokenizer_json(proto, options)
    config = build_tokenizer_config(tokenizer_json, proto, options)
    os.makedirs(out_dir, exist_ok=True)
    written: dict[str, str] = {}
    for name, payload in (("tokenizer.json", tokenizer_json), ("tokenizer_config.json", config)):
        path = os.path.join(out_dir, name)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False, indent=None if name == "tokenizer.json" else 2)
            handle.write("\n")
        written[name] = path
    return written


def check_against_sentencepiece(model_path: str, tokenizer_json: dict[str, Any]) -> None:
    """Sanity check: every piece of the model has the same id in the exported vocabulary."""
    processor = spm.SentencePieceProcessor(model_file=model_path)
    vocab = tokenizer_json["model"]["vocab"]
    for piece_id in range(processor.get_piece_size()):
        piece = processor.id_to_piece(piece_id)
        if vocab.get(piece) != piece_id:
            raise TokenizerExportError(f"piece {piece!r} has id {piece_id} in the model but {vocab.get(piece)} exported.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="trained SentencePiece BPE model (.model)")
    parser.add_argument("--out", required=True, help="output directory for tokenizer.json and tokenizer_config.json")
    parser.add_argument(
        "--special", action="append", default=[], metavar="TOKEN", help="extra special token appended after the vocabulary (repeatable), e.g. '<image>'"
    )
    parser.add_argument("--image-token", default=None, help="image placeholder (default: <image> if given with --special)")
    parser.add_argument("--pad-token", default=None, help="padding token (default: the unknown piece)")
    parser.add_argument("--no-bos", action="store_true", help="do not add BOS when encoding")
    parser.add_argument("--add-eos", action="store_true", help="add EOS when encoding")
    parser.add_argument("--chat-template", default=None, help="file holding a jinja chat template (default: LLaVA-1.5)")
    parser.add_argument("--model-max-length", type=int, default=4096)
    args = parser.parse_args(argv)
    template = None
    if args.chat_template:
        with open(args.chat_template, encoding="utf-8") as handle:
            template = handle.read()
    options = ExportOptions(
        special_tokens=args.special,
        image_token=args.image_token,
        pad_token=args.pad_token,
        add_bos_token=not args.no_bos,
        add_eos_token=args.add_eos,
        chat_template=template,
        model_max_length=args.model_max_length,
    )
    try:
        written = export_tokenizer(args.model, args.out, options)
        with open(written["tokenizer.json"], encoding="utf-8") as handle:
            check_against_sentencepiece(args.model, json.load(handle))
    except TokenizerExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

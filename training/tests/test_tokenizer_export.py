"""Small checks of msd_training.tokenizer_export on a tiny SentencePiece model trained in a temp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sentencepiece as spm

from msd_training.tokenizer_export import (
    ExportOptions,
    TokenizerExportError,
    build_tokenizer_json,
    export_tokenizer,
    load_model_proto,
)

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = (
    "package library tool the a of for and with data files server client python debian documentation development headers module plugin support runtime shared"
).split()


def _corpus(count: int = 400) -> list[str]:
    lines = []
    for index in range(count):
        words = [WORDS[(index * 7 + step * 3) % len(WORDS)] for step in range(5 + index % 7)]
        lines.append(" ".join(words) + (" café 日本" if index % 10 == 0 else "") + f" {index}.")
    return lines


def _train(tmp_path, **overrides) -> str:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(_corpus()), encoding="utf-8")
    options = dict(
        input=str(corpus),
        model_prefix=str(tmp_path / "sp"),
        model_type="bpe",
        vocab_size=300,
        byte_fallback=True,
        normalization_rule_name="identity",
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        num_threads=1,
        minloglevel=2,
    )
    options.update(overrides)
    spm.SentencePieceTrainer.train(**options)
    return str(tmp_path / "sp.model")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    return _train(tmp_path_factory.mktemp("sp"))


def test_tokenizer_json_structure(model_path, tmp_path):
    written = export_tokenizer(model_path, str(tmp_path / "out"), ExportOptions(special_tokens=["<image>"]))
    data = json.loads(open(written["tokenizer.json"], encoding="utf-8").read())
    assert data["normalizer"] == {
        "type": "Sequence",
        "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}],
    }
    assert data["pre_tokenizer"] is None
    assert data["decoder"]["decoders"] == [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0},
    ]
    model = data["model"]
    assert model["type"] == "BPE" and model["byte_fallback"] is True and model["unk_token"] == "<unk>"
    added = {token["content"]: token for token in data["added_tokens"]}
    assert [added[name]["id"] for name in ("<unk>", "<s>", "</s>")] == [0, 1, 2]
    assert added["<image>"]["id"] == 300 and added["<image>"]["special"] is True
    assert "<image>" not in model["vocab"]
    assert data["post_processor"]["single"][0] == {"SpecialToken": {"id": "<s>", "type_id": 0}}


def test_vocab_matches_sentencepiece_pieces_and_merges_are_ranked(model_path):
    processor = spm.SentencePieceProcessor(model_file=model_path)
    data = build_tokenizer_json(load_model_proto(model_path))
    vocab = data["model"]["vocab"]
    assert len(vocab) == processor.get_piece_size()
    for piece_id in range(processor.get_piece_size()):
        assert vocab[processor.id_to_piece(piece_id)] == piece_id
    assert vocab["<0x41>"] == processor.piece_to_id("<0x41>")
    ranks = [vocab[left + right] for left, right in data["model"]["merges"]]
    assert ranks == sorted(ranks)  # ranked by the merged piece's id
    for left, right in data["model"]["merges"]:
        assert left in vocab and right in vocab


def test_tokenizer_config(model_path, tmp_path):
    written = export_tokenizer(model_path, str(tmp_path), ExportOptions(special_tokens=["<image>"]))
    config = json.loads(open(written["tokenizer_config.json"], encoding="utf-8").read())
    assert (config["bos_token"], config["eos_token"], config["unk_token"], config["pad_token"]) == ("<s>", "</s>", "<unk>", "<unk>")
    assert config["add_bos_token"] is True and config["add_eos_token"] is False
    assert config["clean_up_tokenization_spaces"] is False
    assert config["added_tokens_decoder"]["300"]["content"] == "<image>"
    assert config["image_token"] == "<image>"
    assert "USER: " in config["chat_template"] and "<image>\\n" in config["chat_template"]


def test_cli_and_refusals(model_path, tmp_path):
    out = tmp_path / "cli"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "msd_training.tokenizer_export",
            "--model",
            model_path,
            "--out",
            str(out),
            "--special",
            "<image>",
            "--special",
            "<pad>",
            "--pad-token",
            "<pad>",
        ],
        cwd=TRAINING,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["pad_token"] == "<pad>" and config["added_tokens_decoder"]["301"]["content"] == "<pad>"

    with pytest.raises(TokenizerExportError, match="already a piece"):
        build_tokenizer_json(load_model_proto(model_path), ExportOptions(special_tokens=["<s>"]))
    bad = subprocess.run(
        [sys.executable, "-m", "msd_training.tokenizer_export", "--model", str(tmp_path / "none.model"), "--out", str(tmp_path / "x")],
        cwd=TRAINING,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "cannot read" in bad.stderr


def test_refuses_models_it_cannot_convert_exactly(tmp_path):
    nfkc = _train(tmp_path, normalization_rule_name="nmt_nfkc")
    with pytest.raises(TokenizerExportError, match="identity"):
        build_tokenizer_json(load_model_proto(nfkc))
    no_bytes = _train(tmp_path, byte_fallback=False)
    with pytest.raises(TokenizerExportError, match="byte_fallback"):
        build_tokenizer_json(load_model_proto(no_bytes))

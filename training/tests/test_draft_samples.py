"""Batched self-distillation and feature recording (draft_samples), the feature file reader, the
LLaVA-JSON conversation reader, and the curriculum fallback of draft training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from msd_training.draft_samples import DraftSample, complete_with_target, greedy_batch, write_features
from msd_training.generate import greedy
from msd_training.llava_dataset import DatasetError, chat_messages, read_conversations
from msd_training.modeling import LlavaConfig, LlavaForConditionalGeneration, TextConfig, VisionConfig, causal_mask
from msd_training.train_draft import FeatureSet, _usable_curriculum
from msd_training.train_target import init_weights

IMAGE, PAD, EOS = 60, 61, 2


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = LlavaConfig(
        vision_config=VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=16, patch_size=8),
        text_config=TextConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2),
        image_token_index=IMAGE,
        pad_token_id=PAD,
        eos_token_id=EOS,
    )
    target = LlavaForConditionalGeneration(config)
    init_weights(target, std=0.3)  # large weights: answers vary with the prompt
    return target.eval()


def _samples(model) -> list[DraftSample]:
    tokens = model.config.image_seq_length
    rng = np.random.default_rng(1)
    pixels = [torch.from_numpy(rng.standard_normal((n, 3, 16, 16)).astype(np.float32)) for n in (1, 2)]
    return [
        DraftSample([1, 5, 6, 7], None),
        DraftSample([1, *[IMAGE] * tokens, 9, 10], pixels[0]),
        DraftSample([1, 11], None),
        DraftSample([1, *[IMAGE] * tokens, 12, *[IMAGE] * tokens, 13, 14, 15, 16], pixels[1]),
    ]


def test_batched_greedy_equals_one_prompt_at_a_time(model):
    samples = _samples(model)
    batched = greedy_batch(model, samples, max_new_tokens=12)
    for sample, (tokens, stopped) in zip(samples, batched, strict=True):
        alone = greedy(model, sample.prompt, sample.pixel_values, max_new_tokens=12)
        assert tokens == alone
        assert stopped == (len(alone) < 12)


def test_complete_with_target_adds_eos_only_where_the_target_stopped(model):
    samples = complete_with_target(model, _samples(model), max_new_tokens=12, batch_size=3)
    for sample in samples:
        alone = greedy(model, sample.prompt, sample.pixel_values, max_new_tokens=12)
        assert sample.answer == alone + ([EOS] if len(alone) < 12 else [])


def test_features_equal_each_sample_run_alone_and_read_back_in_shards(model, tmp_path):
    samples = complete_with_target(model, _samples(model), max_new_tokens=6, batch_size=4)
    write_features(model, samples[:3], str(tmp_path / "a.npz"), batch_size=2)
    write_features(model, samples[3:], str(tmp_path / "b.npz"), batch_size=2)
    features = FeatureSet([str(tmp_path / "a.npz"), str(tmp_path / "b.npz")])
    assert list(features.modality) == [0, 1, 0, 1]
    for row, sample in enumerate(samples):
        ids = torch.tensor([sample.prompt + sample.answer])
        with torch.no_grad():
            _, hidden, embeds = model(ids, torch.ones_like(ids), sample.pixel_values)
        recorded = features.sample(row)
        assert recorded["ids"].tolist() == ids[0].tolist()
        assert torch.allclose(recorded["hidden"], hidden[0], rtol=2e-3, atol=2e-3)  # stored as fp16
        assert recorded["answer"].tolist() == [False] * len(sample.prompt) + [True] * len(sample.answer)
        # The draft's inputs: position i sees the fused embedding of position i + 1 where that is an image.
        _, _, image_embeds, image_mask, target, loss_mask, valid = features.batch([row])
        n = len(ids[0]) - 1
        is_image = ids[0, 1:] == IMAGE
        assert image_mask[0, :n].bool().tolist() == is_image.tolist()
        expected = torch.where(is_image.unsqueeze(-1), embeds[0, 1:], torch.zeros(()))
        assert torch.allclose(image_embeds[0, :n], expected, rtol=2e-3, atol=2e-3)
        assert loss_mask[0, :n].tolist() == recorded["answer"][1:].tolist()
        assert torch.equal(target[0, :n], recorded["hidden"][1:])


def test_a_directory_recording_is_memory_mapped_and_reads_the_same(model, tmp_path):
    samples = complete_with_target(model, _samples(model), max_new_tokens=5, batch_size=4)
    write_features(model, samples, str(tmp_path / "file.npz"), batch_size=4, notes={"answers": "target"})
    write_features(model, samples, str(tmp_path / "shard"), batch_size=4, notes={"answers": "target"})
    mapped = FeatureSet(str(tmp_path / "shard"))
    assert isinstance(mapped.shards[0].hidden, np.memmap)
    assert json.loads((tmp_path / "shard" / "notes.json").read_text()) == {"answers": "target"}
    for left, right in zip(FeatureSet(str(tmp_path / "file.npz")).batch([0, 1, 2, 3]), mapped.batch([0, 1, 2, 3]), strict=True):
        assert torch.equal(left, right)


def test_dense_feature_files_of_earlier_runs_still_read(model, tmp_path):
    samples = complete_with_target(model, _samples(model), max_new_tokens=4, batch_size=4)
    write_features(model, samples, str(tmp_path / "compact.npz"), batch_size=4)
    compact = dict(np.load(tmp_path / "compact.npz"))
    dense = np.zeros((len(compact["ids"]), compact["hidden"].shape[1]), np.float16)
    dense[compact["is_image"].astype(bool)] = compact.pop("image_embeds")
    np.savez(tmp_path / "dense.npz", embeds=dense, **compact)
    a, b = FeatureSet(str(tmp_path / "compact.npz")), FeatureSet(str(tmp_path / "dense.npz"))
    for left, right in zip(a.batch([1, 3]), b.batch([1, 3]), strict=True):
        assert torch.equal(left, right)


def test_a_single_kind_of_sample_trains_on_that_kind(model, tmp_path):
    samples = complete_with_target(model, _samples(model), max_new_tokens=3, batch_size=4)
    write_features(model, [s for s in samples if s.multimodal], str(tmp_path / "mm.npz"), batch_size=4)
    write_features(model, [s for s in samples if not s.multimodal], str(tmp_path / "text.npz"), batch_size=4)
    assert _usable_curriculum("two-stage", FeatureSet(str(tmp_path / "mm.npz")), "t") == "multimodal-only"
    assert _usable_curriculum("two-stage", FeatureSet(str(tmp_path / "text.npz")), "t") == "text-only"


def test_causal_mask_dtype_follows_the_model():
    assert causal_mask(torch.ones(1, 3), torch.bfloat16).dtype == torch.bfloat16


# ---------------------------------------------------------------- LLaVA JSON


def _write(tmp_path, records) -> str:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(records))
    return str(path)


def test_conversations_are_read_with_images_placed(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "b.png").write_bytes(b"x")
    records = [
        {"id": "1", "image": "a.png", "conversations": [{"from": "human", "value": "What is it?"}, {"from": "gpt", "value": "A cat."}]},
        {"image": ["a.png", "b.png"], "conversations": [{"from": "human", "value": "<image> vs <image>\nSame?"}, {"from": "gpt", "value": "No."}]},
        {"conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}]},
    ]
    first, second, third = read_conversations(_write(tmp_path, records))
    assert first.images == [str(tmp_path / "a.png")]
    assert first.turns[0] == ("user", "<image>\nWhat is it?")  # LLaVA's convention: images open the first turn
    assert chat_messages(second.turns)[0]["content"] == [
        {"type": "image"},
        {"type": "text", "text": "vs"},
        {"type": "image"},
        {"type": "text", "text": "Same?"},
    ]
    assert [role for role, _ in third.turns] == ["system", "user", "assistant"] and third.images == []
    assert chat_messages(first.turns)[1] == {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"image": "missing.png", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}, "missing.png does not exist"),
        (
            {"image": "a.png", "conversations": [{"from": "human", "value": "<image><image>Q"}, {"from": "gpt", "value": "A"}]},
            "2 <image> placeholders for 1 images",
        ),
        ({"conversations": [{"from": "gpt", "value": "A"}, {"from": "human", "value": "Q"}]}, "must alternate"),
        ({"conversations": [{"from": "human", "value": "Q"}]}, "must alternate"),
        ({"conversations": [{"from": "robot", "value": "Q"}]}, "turn 0 must be"),
        ({"conversations": []}, "non-empty list"),
        ({"image": 3, "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}, "'image' must be"),
    ],
)
def test_bad_records_are_named(tmp_path, record, message):
    (tmp_path / "a.png").write_bytes(b"x")
    good = {"id": "ok", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]}
    with pytest.raises(DatasetError, match="record 1") as error:
        read_conversations(_write(tmp_path, [good, record]))
    assert message in str(error.value)


def test_unreadable_files_are_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="cannot read"):
        read_conversations(str(tmp_path / "none.json"))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DatasetError, match="cannot read"):
        read_conversations(str(tmp_path / "bad.json"))
    (tmp_path / "obj.json").write_text("{}")
    with pytest.raises(DatasetError, match="expected a JSON list"):
        read_conversations(str(tmp_path / "obj.json"))


def test_a_bf16_target_answers_and_records(model, tmp_path):
    """GPUs record with a bf16 target (checkpoint_draft --dtype auto): nothing may promote to float32 on the way."""
    import copy

    low = copy.deepcopy(model).to(torch.bfloat16)
    samples = complete_with_target(low, _samples(model), max_new_tokens=4, batch_size=4)
    write_features(low, samples, str(tmp_path / "bf16.npz"), batch_size=4)
    assert FeatureSet(str(tmp_path / "bf16.npz")).shards[0].hidden.dtype == np.float16

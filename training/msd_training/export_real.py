"""Export a real llava-hf target and an MSD draft checkpoint to the ONNX bundle layout the runtime loads.

    /usr/bin/python3 -m msd_training.export_real --llava DIR --draft DIR_OR_FILE --out DIR [--fp16] [--draft-top-k 10] [--parity DIR]

Writes `onnx/vision_encoder.onnx`, `onnx/embed_tokens.onnx`, `onnx/decoder_model.onnx`, `onnx/draft_msd.onnx` (the
graphs of `onnx_export.export_target` / `export_draft`, same input and output names), `config.json`, and copies
`tokenizer.json`, `tokenizer_config.json`, `preprocessor_config.json` (and `special_tokens_map.json`,
`tokenizer.model`) from the llava directory when present.

* `--fp16` stores large weights as fp16 followed by a `Cast` to float32, exactly like
  `onnx_export.store_weights_as_fp16` (graphs keep float32 inputs/outputs and compute in float32; files are half
  the size). The PyTorch modules are rounded the same way first (`round_to_fp16`), so parity cases stay exact.
  llava-1.5-7b-hf's weights already are fp16, so for it the rounding is a no-op.
* A graph whose weights exceed `external_data_threshold` bytes (default 2e9; protobuf cannot hold 2 GiB) keeps its
  weights in one external file next to it, `<graph>.onnx_data` — the layout that
  `onnx.save_model(..., save_as_external_data=True, all_tensors_to_one_file=True, location="<graph>.onnx_data")`
  produces. torch 1.13's exporter itself switches to external data above 2 GiB but writes one file per tensor
  next to the .onnx, so every graph is exported into a staging directory and then rewritten tensor by tensor
  (`finalize_onnx`), never holding a second copy of a large graph in memory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .draft_graph import exported_case
from .hf_checkpoint import load_llava, load_msd_draft
from .manifest import TARGET_GRAPHS, build_manifest, write_manifest
from .modeling import LlavaForConditionalGeneration, MsdDraft, causal_mask
from .onnx_export import DraftGraph, describe, export_draft, export_target, round_to_fp16, write_parity_case

EXTERNAL_DATA_THRESHOLD = 2_000_000_000
FP16_MIN_ELEMENTS = 1024  # the threshold store_weights_as_fp16 / round_to_fp16 use
EXTERNAL_MIN_BYTES = 1024  # smaller tensors stay inline (onnx.save_model's size_threshold default)
ALIGNMENT = 4096  # external tensors start on page boundaries so runtimes can mmap them
GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model", "draft_msd")
COPIED_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    # transformers >= 4.43 keeps a processor's chat template out of tokenizer_config.json.
    "chat_template.jinja",
    "chat_template.json",
    "processor_config.json",
)

_NP_DTYPES = {
    TensorProto.FLOAT: np.float32,
    TensorProto.FLOAT16: np.float16,
    TensorProto.INT64: np.int64,
    TensorProto.INT32: np.int32,
    TensorProto.DOUBLE: np.float64,
    TensorProto.BOOL: np.bool_,
    TensorProto.INT8: np.int8,
    TensorProto.UINT8: np.uint8,
}


class ExportError(RuntimeError):
    """The export cannot proceed (bad arguments, colliding external data, ...)."""


# ---------------------------------------------------------------- ONNX rewriting


def _external_info(tensor: TensorProto) -> dict:
    return {entry.key: entry.value for entry in tensor.external_data}


def _tensor_array(tensor: TensorProto, base_dir: str) -> np.ndarray:
    """An initializer's value, reading external data through a memory map."""
    if tensor.data_location != TensorProto.EXTERNAL:
        return numpy_helper.to_array(tensor)
    info = _external_info(tensor)
    dtype = np.dtype(_NP_DTYPES[tensor.data_type]).newbyteorder("<")
    count = int(np.prod(tensor.dims, dtype=np.int64))
    offset = int(info.get("offset", 0))
    if count == 0:
        return np.zeros(tuple(tensor.dims), dtype)
    data = np.memmap(os.path.join(base_dir, info["location"]), dtype=np.uint8, mode="r", offset=offset, shape=(count * dtype.itemsize,))
    return data.view(dtype).reshape(tuple(tensor.dims))


def _tensor_nbytes(tensor: TensorProto) -> int:
    return int(np.prod(tensor.dims, dtype=np.int64)) * np.dtype(_NP_DTYPES.get(tensor.data_type, np.float32)).itemsize


def external_files(path: str) -> set[str]:
    """The external-data files an .onnx file refers to (relative locations)."""
    model = onnx.load(path, load_external_data=False)
    return {_external_info(t)["location"] for t in model.graph.initializer if t.data_location == TensorProto.EXTERNAL}


def finalize_onnx(
    src: str, dst: str, fp16: bool = False, external_data_threshold: int = EXTERNAL_DATA_THRESHOLD, min_elements: int = FP16_MIN_ELEMENTS
) -> dict:
    """Rewrite the exported graph at `src` (inline or with torch's per-tensor external files) into `dst`.

    With `fp16`, float32 initialisers of at least `min_elements` elements become `<name>_fp16` + `Cast` (as in
    `store_weights_as_fp16`). If the weights then exceed `external_data_threshold` bytes, every tensor of at least
    1 KiB goes to `<dst>_data`; otherwise all weights are inline. Streams one tensor at a time.
    """
    src_dir = os.path.dirname(os.path.abspath(src))
    model = onnx.load(src, load_external_data=False)
    graph = model.graph
    convert = [fp16 and t.data_type == TensorProto.FLOAT and int(np.prod(t.dims, dtype=np.int64)) >= min_elements for t in graph.initializer]
    total = sum(_tensor_nbytes(t) // (2 if c else 1) for t, c in zip(graph.initializer, convert, strict=True))
    external = total > external_data_threshold
    data_name = os.path.basename(dst) + "_data"
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    data_path = os.path.join(os.path.dirname(os.path.abspath(dst)), data_name)
    if os.path.exists(data_path):
        os.remove(data_path)
    casts = []
    handle = open(data_path, "wb") if external else None
    try:
        for index, (tensor, to_fp16) in enumerate(zip(graph.initializer, convert, strict=True)):
            if not to_fp16 and tensor.data_location != TensorProto.EXTERNAL and not (external and _tensor_nbytes(tensor) >= EXTERNAL_MIN_BYTES):
                continue  # inline already and staying inline
            array = _tensor_array(tensor, src_dir)
            name = tensor.name
            if to_fp16:
                array = array.astype(np.float16)
                casts.append(helper.make_node("Cast", [name + "_fp16"], [name], to=TensorProto.FLOAT, name=f"cast_{name}"))
                name = name + "_fp16"
            replacement = TensorProto()
            replacement.name = name
            replacement.data_type = TensorProto.FLOAT16 if to_fp16 else tensor.data_type
            replacement.dims.extend(tensor.dims)
            raw = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
            if external and len(raw) >= EXTERNAL_MIN_BYTES:
                offset = handle.seek(0, os.SEEK_END)
                if offset % ALIGNMENT:
                    handle.write(b"\0" * (ALIGNMENT - offset % ALIGNMENT))
                    offset = handle.tell()
                handle.write(raw)
                replacement.data_location = TensorProto.EXTERNAL
                for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(len(raw)))):
                    entry = replacement.external_data.add()
                    entry.key, entry.value = key, value
            else:
                replacement.raw_data = raw
            graph.initializer[index].CopyFrom(replacement)
            del array, raw
    finally:
        if handle is not None:
            handle.close()
    if casts:
        nodes = list(graph.node)
        del graph.node[:]
        graph.node.extend(casts + nodes)
    with open(dst, "wb") as f:
        f.write(model.SerializeToString())
    onnx.checker.check_model(dst)
    return {"file": dst, "external_data": data_path if external else None, "weight_bytes": total, "fp16_tensors": len(casts)}


# ---------------------------------------------------------------- parity cases


def write_parity_cases(model: LlavaForConditionalGeneration, draft: MsdDraft | None, out_dir: str, seed: int = 0, top_k: int = 10) -> list[str]:
    """Inputs and PyTorch outputs for every graph (`<out_dir>/<graph>/case.json`), for the onnxruntime-node check.

    The decoder case is the one `stages.export_target` writes (6-token prefill, then a 4-node tree on the KV cache);
    the draft case is a 5-position prefill (two image-patch positions) followed by a 3-node tree.
    """
    rng = np.random.default_rng(seed)
    t, v = model.config.text_config, model.config.vision_config
    written = []
    with torch.no_grad():
        pixels = rng.standard_normal((2, 3, v.image_size, v.image_size)).astype(np.float32)
        write_parity_case(out_dir, "vision_encoder", {"pixel_values": pixels}, {"image_features": model.image_features(torch.from_numpy(pixels)).numpy()})
        ids = rng.integers(0, t.vocab_size, (1, 7)).astype(np.int64)
        write_parity_case(
            out_dir, "embed_tokens", {"input_ids": ids}, {"inputs_embeds": model.language_model.model.embed_tokens(torch.from_numpy(ids)).numpy()}
        )
        written += ["vision_encoder", "embed_tokens"]
        lm = model.language_model
        embeds = rng.standard_normal((1, 6, t.hidden_size)).astype(np.float32) * 0.02
        _, _, presents = lm(torch.from_numpy(embeds), torch.arange(6).view(1, 6), causal_mask(torch.ones(1, 6)))
        tree_embeds = rng.standard_normal((1, 4, t.hidden_size)).astype(np.float32) * 0.02
        allowed = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 0, 1]], dtype=bool)
        tree_mask = _tree_mask(allowed, 6)
        positions = np.array([[6, 7, 7, 8]], dtype=np.int64)
        feeds = {"inputs_embeds": tree_embeds, "position_ids": positions, "attention_mask": tree_mask}
        for i, (k, val) in enumerate(presents):
            feeds[f"past_key_values.{i}.key"], feeds[f"past_key_values.{i}.value"] = k.numpy(), val.numpy()
        feeds["logits_rows"] = np.arange(4, dtype=np.int64)  # every row: the tree verification's case
        logits, hidden, presents2 = lm(torch.from_numpy(tree_embeds), torch.from_numpy(positions), torch.from_numpy(tree_mask), presents)
        expected = {"logits": logits.numpy(), "last_hidden_state": hidden.numpy()}
        for i, (k, val) in enumerate(presents2):
            expected[f"present.{i}.key"], expected[f"present.{i}.value"] = k.numpy(), val.numpy()
        write_parity_case(out_dir, "decoder_model", feeds, expected)
        written.append("decoder_model")
        if draft is not None:
            graph = DraftGraph(draft, top_k).eval()
            d = draft.config.text_config.hidden_size

            def step(count: int):
                return (
                    rng.integers(0, t.vocab_size, (1, count)).astype(np.int64),
                    rng.standard_normal((1, count, d)).astype(np.float32),
                    rng.standard_normal((1, count, d)).astype(np.float32) * 0.02,
                )

            ids, hidden, image = step(5)
            image_mask = np.array([[0, 1, 1, 0, 0]], dtype=np.float32)
            _, (key, value) = draft(*map(torch.from_numpy, (ids, hidden, image, image_mask)), torch.arange(5).view(1, 5), causal_mask(torch.ones(1, 5)))
            ids, hidden, image = step(3)
            image_mask = np.zeros((1, 3), dtype=np.float32)
            tree = _tree_mask(np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1]], dtype=bool), 5)
            positions = np.array([[5, 6, 6]], dtype=np.int64)
            feeds = {
                "input_ids": ids,
                "hidden_states": hidden,
                "image_embeds": image,
                "image_mask": image_mask,
                "position_ids": positions,
                "attention_mask": tree,
                "past_key_values.0.key": key.numpy(),
                "past_key_values.0.value": value.numpy(),
                "topk_rows": np.arange(3, dtype=np.int64),
            }
            out, values, indices, key2, value2 = graph(*(torch.from_numpy(feeds[name]) for name in feeds))
            expected = {
                "last_hidden_state": out.numpy(),
                "topk_logprobs": values.numpy(),
                "topk_ids": indices.numpy(),
                "present.0.key": key2.numpy(),
                "present.0.value": value2.numpy(),
            }
            write_parity_case(out_dir, "draft_msd", *exported_case(draft, feeds, expected))
            written.append("draft_msd")
    return written


def _tree_mask(allowed: np.ndarray, prefix: int) -> np.ndarray:
    n = allowed.shape[0]
    tree = np.where(allowed, 0.0, np.finfo(np.float32).min).astype(np.float32)
    return np.concatenate([np.zeros((n, prefix), np.float32), tree], axis=1).reshape(1, 1, n, prefix + n)


# ---------------------------------------------------------------- the export


def export_real(
    llava: str,
    draft: str,
    out: str,
    fp16: bool = False,
    draft_top_k: int = 10,
    external_data_threshold: int = EXTERNAL_DATA_THRESHOLD,
    parity_dir: str | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Load both checkpoints, export the four graphs into `out`, write config.json; returns the config object."""
    start = time.time()
    stages = 7 + (parity_dir is not None)
    counter = iter(range(1, stages + 1))

    def progress(message: str) -> None:
        log(f"[export-real] ({next(counter)}/{stages}) {message} [{time.time() - start:.0f}s]")

    progress(f"loading the llava target from {llava}")
    model = load_llava(llava)
    progress(f"loading the MSD draft from {draft}")
    msd = load_msd_draft(draft, model)
    if fp16:
        round_to_fp16(model, FP16_MIN_ELEMENTS)
        round_to_fp16(msd, FP16_MIN_ELEMENTS)
    staging = os.path.join(out, ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    onnx_dir = os.path.join(out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    graphs = {}
    try:
        progress("exporting vision_encoder, embed_tokens, decoder_model (torch.onnx.export)")
        paths = export_target(model, os.path.join(staging, "target"))
        draft_dir = os.path.join(staging, "draft", "onnx")
        os.makedirs(draft_dir, exist_ok=True)
        paths["draft_msd"] = os.path.join(draft_dir, "draft_msd.onnx")
        progress(f"exporting draft_msd (top-k {draft_top_k})")
        export_draft(msd, paths["draft_msd"], draft_top_k)
        _check_no_shared_external_files({name: p for name, p in paths.items() if name != "draft_msd"})
        progress(f"writing {', '.join(GRAPHS)} ({'fp16 weights' if fp16 else 'fp32 weights'}, external data above {external_data_threshold} bytes)")
        for name in GRAPHS:
            info = finalize_onnx(paths[name], os.path.join(onnx_dir, f"{name}.onnx"), fp16=fp16, external_data_threshold=external_data_threshold)
            graphs[name] = {
                "file": f"onnx/{name}.onnx",
                "external_data": f"onnx/{os.path.basename(info['external_data'])}" if info["external_data"] else None,
                "weight_bytes": info["weight_bytes"],
                **describe(info["file"]),
            }
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress("writing manifest.json and export_info.json, copying config/tokenizer/preprocessor files")
    drafts = {
        "msd": {
            "file": "onnx/draft_msd.onnx",
            "inputs": graphs["draft_msd"]["inputs"],
            "outputs": graphs["draft_msd"]["outputs"],
            "decoupled": msd.config.decoupled,
            "topK": draft_top_k,
            "curriculum": _draft_curriculum(draft),
        }
    }
    target_graphs = {key: graphs[name] for key, name in TARGET_GRAPHS}
    write_manifest(out, build_manifest(model.config, target_graphs, drafts))
    config = {
        "format": "msd-onnx-export",
        "source": {"llava": os.path.abspath(llava), "draft": os.path.abspath(draft)},
        "llava": model.config.to_dict(),
        "draft": {**msd.config.to_dict(), "top_k": draft_top_k, "checkpoint_embed_rows": msd.checkpoint_embed_rows},
        "weights": "fp16 initialisers cast to float32" if fp16 else "float32",
        "graphs": graphs,
    }
    # config.json stays the Hugging Face LlavaConfig (copied below); what the export did goes beside it.
    with open(os.path.join(out, "export_info.json"), "w") as f:
        json.dump(config, f, indent=2)
    copied = [name for name in COPIED_FILES if os.path.exists(os.path.join(llava, name))]
    for name in copied:
        shutil.copyfile(os.path.join(llava, name), os.path.join(out, name))
    config["copied"] = copied
    if parity_dir is not None:
        progress(f"writing parity cases to {parity_dir}")
        write_parity_cases(model, msd, parity_dir, top_k=draft_top_k)
    progress(f"done: {out}")
    return config


def _draft_curriculum(draft: str) -> str:
    """What the manifest says about where the draft came from."""
    directory = draft if os.path.isdir(draft) else os.path.dirname(draft)
    report = os.path.join(directory, "training.json")
    if os.path.exists(report):
        with open(report) as f:
            steps = json.load(f).get("steps")
        return f"two-stage, {steps} steps (msd_training.checkpoint_draft)"
    return "released checkpoint"


def export_draft_only(llava: str, draft: str, out: str, draft_top_k: int = 10, log: Callable[[str], None] = print) -> dict:
    """Export only the draft into a model directory `export_real` made earlier, as its `msd` draft.

    The target's graphs stay; manifest.json's `drafts.msd` and export_info.json's `draft` are replaced.
    The draft's weights are rounded to fp16 when the target was exported with --fp16."""
    manifest_path, info_path = os.path.join(out, "manifest.json"), os.path.join(out, "export_info.json")
    for path in (manifest_path, info_path):
        if not os.path.exists(path):
            raise ExportError(f"{path} does not exist: export the target first (`export_real --llava ... --draft ... --out {out}` without --draft-only)")
    with open(manifest_path) as f:
        manifest = json.load(f)
    with open(info_path) as f:
        info = json.load(f)
    fp16 = info.get("weights", "").startswith("fp16")
    log(f"[export-real] loading the llava target from {llava} (the draft shares its embedding and head)")
    model = load_llava(llava)
    if model.config.to_dict() != info.get("llava"):
        raise ExportError(f"{llava} is not the checkpoint {out} was exported from (its config differs from export_info.json's)")
    log(f"[export-real] loading the MSD draft from {draft}")
    msd = load_msd_draft(draft, model)
    if fp16:
        round_to_fp16(msd, FP16_MIN_ELEMENTS)
    staging = os.path.join(out, ".staging-draft")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    try:
        staged = os.path.join(staging, "draft_msd.onnx")
        log(f"[export-real] exporting draft_msd (top-k {draft_top_k})")
        export_draft(msd, staged, draft_top_k)
        final = os.path.join(out, "onnx", "draft_msd.onnx")
        written = finalize_onnx(staged, final, fp16=fp16)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    described = describe(written["file"])
    manifest["drafts"]["msd"] = {
        "file": "onnx/draft_msd.onnx",
        "inputs": described["inputs"],
        "outputs": described["outputs"],
        "decoupled": msd.config.decoupled,
        "topK": draft_top_k,
        "curriculum": _draft_curriculum(draft),
    }
    manifest["defaultDraft"] = "msd"
    write_manifest(out, manifest)
    info["source"]["draft"] = os.path.abspath(draft)
    info["draft"] = {**msd.config.to_dict(), "top_k": draft_top_k, "checkpoint_embed_rows": msd.checkpoint_embed_rows}
    info["graphs"]["draft_msd"] = {
        "file": "onnx/draft_msd.onnx",
        "external_data": f"onnx/{os.path.basename(written['external_data'])}" if written["external_data"] else None,
        "weight_bytes": written["weight_bytes"],
        **described,
    }
    with open(info_path, "w") as f:
        json.dump(info, f, indent=2)
    log(f"[export-real] done: {final} is {out}'s msd draft")
    return manifest["drafts"]["msd"]


def _check_no_shared_external_files(paths: dict[str, str]) -> None:
    """export_target writes all target graphs into one directory; torch names external files after tensors."""
    seen: dict[str, str] = {}
    for name, path in paths.items():
        for location in external_files(path):
            if location in seen:
                raise ExportError(f"{name} and {seen[location]} both wrote external tensor file {location!r} in one directory; the export would be corrupt")
            seen[location] = name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m msd_training.export_real", description=__doc__.split("\n\n")[0])
    parser.add_argument("--llava", required=True, help="llava-hf model directory (config.json + safetensors or pytorch_model.bin)")
    parser.add_argument("--draft", required=True, help="MSD draft directory (config.json + pytorch_model.bin/safetensors) or weights file")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--fp16", action="store_true", help="store weights as fp16 (+ Cast to float32 in the graph)")
    parser.add_argument("--draft-top-k", type=int, default=10, help="top-k the draft graph returns (default 10, the MSD/EAGLE-2 default)")
    parser.add_argument("--parity", default=None, help="also write PyTorch parity cases into this directory")
    parser.add_argument("--draft-only", action="store_true", help="replace only the msd draft of a model directory exported earlier into --out")
    parser.add_argument("--external-data-threshold", type=int, default=EXTERNAL_DATA_THRESHOLD, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.draft_only:
            export_draft_only(args.llava, args.draft, args.out, draft_top_k=args.draft_top_k, log=lambda line: print(line, flush=True))
            return 0
        export_real(
            args.llava,
            args.draft,
            args.out,
            fp16=args.fp16,
            draft_top_k=args.draft_top_k,
            external_data_threshold=args.external_data_threshold,
            parity_dir=args.parity,
            log=lambda line: print(line, flush=True),
        )
    except (ValueError, ExportError, OSError) as error:
        print(f"export_real: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

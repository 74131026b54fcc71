"""A dependency-free safetensors reader/writer and a loader for (sharded) Hugging Face checkpoints.

Written from the format description (github.com/huggingface/safetensors, "Format"):

* 8 bytes: ``N``, an unsigned little-endian 64-bit integer, the size of the header;
* ``N`` bytes: a UTF-8 JSON object ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}`` plus an
  optional ``"__metadata__"`` object of string -> string; it may be padded with trailing spaces;
* the rest: the byte buffer; ``data_offsets`` are relative to its start, tensors are C-order little-endian.

Files are memory-mapped with numpy, so reading a 14 GB sharded checkpoint only pages in the tensor being
copied; ``BF16`` has no numpy dtype and is widened to float32 exactly (its 16 bits are the top half of a float32).
A checkpoint directory may hold ``model.safetensors``, shards listed by ``model.safetensors.index.json``
(``weight_map``), ``pytorch_model.bin`` or shards listed by ``pytorch_model.bin.index.json``; a single file works too.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Iterator, Mapping

import numpy as np

#: safetensors dtype -> numpy dtype (little-endian). BF16 is stored as uint16 and widened on read.
DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype("bool"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
}
_NUMPY_TO_SAFETENSORS = {np.dtype(v).str: k for k, v in DTYPES.items() if k != "BF16"}
# Refuse absurd headers instead of trying to allocate them (the reference implementation caps at 100 MB).
MAX_HEADER_BYTES = 100_000_000
SAFETENSORS_INDEX = "model.safetensors.index.json"
SAFETENSORS_SINGLE = "model.safetensors"
TORCH_INDEX = "pytorch_model.bin.index.json"
TORCH_SINGLE = "pytorch_model.bin"


class SafetensorsError(ValueError):
    """A malformed or unsupported safetensors file or checkpoint directory."""


def bf16_to_float32(bits: np.ndarray) -> np.ndarray:
    """Exact widening: a bfloat16 is the upper 16 bits of a float32."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def float32_to_bf16(values: np.ndarray) -> np.ndarray:
    """bfloat16 bits (uint16) of float32 values, round-to-nearest-even (NaN stays NaN)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        rounded = np.where(nan, np.uint16(0x7FC0), rounded)
    return rounded


class SafetensorsFile:
    """One memory-mapped ``.safetensors`` file. ``get`` returns read-only views (BF16: a float32 copy)."""

    def __init__(self, path: str):
        self.path = path
        size = os.path.getsize(path)
        if size < 8:
            raise SafetensorsError(f"{path}: {size} bytes, too short for a safetensors file")
        with open(path, "rb") as handle:
            (header_len,) = struct.unpack("<Q", handle.read(8))
            if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
                raise SafetensorsError(f"{path}: header length {header_len} does not fit the {size}-byte file")
            try:
                header = json.loads(handle.read(header_len).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise SafetensorsError(f"{path}: header is not UTF-8 JSON ({error})") from error
        if not isinstance(header, dict):
            raise SafetensorsError(f"{path}: header is not a JSON object")
        self.metadata: dict[str, str] = header.pop("__metadata__", None) or {}
        self._data_start = 8 + header_len
        buffer_len = size - self._data_start
        self._entries: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
        for name, entry in header.items():
            try:
                dtype, shape, (begin, end) = entry["dtype"], tuple(int(d) for d in entry["shape"]), entry["data_offsets"]
            except (KeyError, TypeError, ValueError) as error:
                raise SafetensorsError(f"{path}: bad header entry for {name!r}: {entry!r}") from error
            if dtype not in DTYPES:
                raise SafetensorsError(f"{path}: tensor {name!r} has dtype {dtype}, which this reader does not support ({', '.join(DTYPES)})")
            expected = int(np.prod(shape, dtype=np.int64)) * DTYPES[dtype].itemsize
            if not (0 <= begin <= end <= buffer_len) or end - begin != expected:
                raise SafetensorsError(f"{path}: tensor {name!r} offsets [{begin}, {end}) do not hold {dtype}{list(shape)} in a {buffer_len}-byte buffer")
            self._entries[name] = (dtype, shape, int(begin), int(end))
        self._map: np.memmap | None = None

    def keys(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def dtype(self, name: str) -> str:
        return self._entries[name][0]

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entries[name][1]

    def _buffer(self) -> np.ndarray:
        if self._map is None:
            self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        return self._map

    def get(self, name: str) -> np.ndarray:
        if name not in self._entries:
            raise KeyError(f"{self.path}: no tensor {name!r}")
        dtype, shape, begin, end = self._entries[name]
        if begin == end:
            raw = np.zeros(0, dtype=DTYPES[dtype])
        else:
            start = self._data_start + begin
            raw = self._buffer()[start : self._data_start + end].view(DTYPES[dtype])
        raw = raw.reshape(shape)
        return bf16_to_float32(raw) if dtype == "BF16" else raw

    def close(self) -> None:
        self._map = None


def load_safetensors(path: str) -> dict[str, np.ndarray]:
    """All tensors of one file (views into the memory map; BF16 widened to float32)."""
    file = SafetensorsFile(path)
    return {name: file.get(name) for name in file.keys()}


def save_safetensors(path: str, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None, bf16: Iterable[str] = ()) -> None:
    """Write ``tensors`` (numpy arrays) to ``path``; names in ``bf16`` are stored as BF16 (rounded from float32)."""
    bf16 = set(bf16)
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, array in tensors.items():
        array = np.asarray(array)
        if name in bf16:
            data, dtype = float32_to_bf16(array).astype("<u2"), "BF16"
        else:
            data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
            dtype = _NUMPY_TO_SAFETENSORS.get(data.dtype.str)
            if dtype is None:
                raise SafetensorsError(f"cannot store {name!r} of numpy dtype {array.dtype} in safetensors")
        raw = data.tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the reference writer pads the header to 8 bytes
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for raw in blobs:
            handle.write(raw)


def save_sharded_safetensors(directory: str, tensors: Mapping[str, np.ndarray], shards: int = 2, bf16: Iterable[str] = ()) -> list[str]:
    """Split ``tensors`` over ``shards`` files ``model-0000i-of-0000n.safetensors`` plus the index json (for tests)."""
    os.makedirs(directory, exist_ok=True)
    names = list(tensors)
    per_shard = max(1, -(-len(names) // shards))
    groups = [names[i : i + per_shard] for i in range(0, len(names), per_shard)]
    weight_map, files, total = {}, [], 0
    bf16 = set(bf16)
    for index, group in enumerate(groups):
        file = f"model-{index + 1:05d}-of-{len(groups):05d}.safetensors"
        save_safetensors(os.path.join(directory, file), {n: tensors[n] for n in group}, metadata={"format": "pt"}, bf16=bf16 & set(group))
        files.append(file)
        for name in group:
            weight_map[name] = file
            total += int(np.asarray(tensors[name]).nbytes)
    with open(os.path.join(directory, SAFETENSORS_INDEX), "w") as handle:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, handle, indent=2)
    return files


def _torch_load(path: str) -> dict[str, np.ndarray]:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        state = torch.load(path, map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise SafetensorsError(f"{path}: expected a state dict, found {type(state).__name__}")
    out = {}
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        out[name] = tensor.numpy()
    return out


class Checkpoint:
    """Name -> tensor access over one checkpoint (file or directory), whatever its storage format.

    safetensors tensors stay memory-mapped until ``get``; ``pytorch_model.bin`` shards are loaded whole
    (torch.load), one shard at a time as their tensors are asked for.
    """

    def __init__(self, path: str):
        self.path = path
        self._where: dict[str, str] = {}
        self._safetensors: dict[str, SafetensorsFile] = {}
        self._torch_cache: tuple[str | None, dict] = (None, {})
        files = self._resolve(path)
        for file in files:
            if file.endswith(".safetensors"):
                st = self._safetensors[file] = SafetensorsFile(file)
                names = st.keys()
            else:
                names = list(self._load_torch(file))
            for name in names:
                self._where.setdefault(name, file)
        if self._index_map is not None:
            missing = sorted(set(self._index_map) - set(self._where))
            if missing:
                raise SafetensorsError(f"{path}: index lists tensors its shards do not hold: {missing[:5]}{' ...' if len(missing) > 5 else ''}")

    def _resolve(self, path: str) -> list[str]:
        self._index_map = None
        if os.path.isfile(path):
            if path.endswith(".json"):
                return self._from_index(path)
            return [path]
        if not os.path.isdir(path):
            raise SafetensorsError(f"{path}: no such checkpoint file or directory")
        for name in (SAFETENSORS_INDEX, SAFETENSORS_SINGLE, TORCH_INDEX, TORCH_SINGLE):
            candidate = os.path.join(path, name)
            if os.path.exists(candidate):
                return self._from_index(candidate) if name.endswith(".json") else [candidate]
        raise SafetensorsError(f"{path}: found none of {SAFETENSORS_INDEX}, {SAFETENSORS_SINGLE}, {TORCH_INDEX}, {TORCH_SINGLE}")

    def _from_index(self, index_path: str) -> list[str]:
        with open(index_path) as handle:
            index = json.load(handle)
        weight_map = index.get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise SafetensorsError(f"{index_path}: no weight_map")
        self._index_map = weight_map
        base = os.path.dirname(index_path)
        files = []
        for shard in dict.fromkeys(weight_map.values()):
            file = os.path.join(base, shard)
            if not os.path.exists(file):
                raise SafetensorsError(f"{index_path}: shard {shard} is missing")
            files.append(file)
        return files

    def _load_torch(self, file: str) -> dict:
        if self._torch_cache[0] != file:
            self._torch_cache = (None, {})  # drop the previous shard before loading the next
            self._torch_cache = (file, _torch_load(file))
        return self._torch_cache[1]

    def keys(self) -> list[str]:
        return list(self._where)

    def __contains__(self, name: str) -> bool:
        return name in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def shape(self, name: str) -> tuple[int, ...]:
        file = self._where[name]
        if file in self._safetensors:
            return self._safetensors[file].shape(name)
        return tuple(self._load_torch(file)[name].shape)

    def get(self, name: str) -> np.ndarray:
        file = self._where[name]
        if file in self._safetensors:
            return self._safetensors[file].get(name)
        return self._load_torch(file)[name]

    def close(self) -> None:
        for file in self._safetensors.values():
            file.close()
        self._torch_cache = (None, {})

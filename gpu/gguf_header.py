"""The shape of a model from its GGUF file's own header: layers, heads, embedding size,
and how many bytes each layer's tensors take, without loading the model.

Hand-written rather than the `gguf` package's GGUFReader, which decodes every metadata
array (the 152k-token vocabulary of Qwen2.5) element by element: 85 s on the shared
build machine for six numbers. Here arrays are skipped by their lengths, and tensor sizes
come from the tensors' data offsets, so no table of quantisation block sizes is needed.
Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    pass


@dataclass(frozen=True)
class ModelShape:
    architecture: str
    n_layers: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim_k: int
    head_dim_v: int
    context_length: int
    n_vocab: int
    n_ff: int
    file_bytes: int
    layer_bytes: tuple[int, ...]  # tensors of blk.N, per layer
    output_bytes: int  # output.weight (or the tied token embedding) and output norm

    def kv_bytes_per_token(self, bytes_per_element: float = 2.0) -> float:
        """K and V of one token across all layers (f16: 2 bytes an element)."""
        per_layer = self.n_head_kv * (self.head_dim_k + self.head_dim_v)
        return self.n_layers * per_layer * bytes_per_element


class _Cursor:
    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> int | float | bool:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise GGUFError("the header is truncated")
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return value  # type: ignore[no-any-return]

    def string(self) -> str:
        length = int(self.take("<Q"))
        raw = self.data[self.at : self.at + length]
        self.at += length
        return raw.decode("utf-8", "replace")

    def value(self, kind: int) -> object:
        if kind in _SCALARS:
            return self.take(_SCALARS[kind])
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind, count = int(self.take("<I")), int(self.take("<Q"))
            if item_kind in _SCALARS:  # skipped, only its length is kept
                self.at += struct.calcsize(_SCALARS[item_kind]) * count
            elif item_kind == _STRING:
                for _ in range(count):
                    length = int(self.take("<Q"))
                    self.at += length
            else:
                for _ in range(count):
                    self.value(item_kind)
            return ArrayLength(count)
        raise GGUFError(f"unknown metadata value type {kind}")


@dataclass(frozen=True)
class ArrayLength:
    count: int


def read_metadata_and_tensors(
    path: Path,
    file_bytes: int | None = None,
) -> tuple[dict[str, object], dict[str, int], int]:
    """Metadata (arrays as their lengths), each tensor's byte size, and the file size.
    ``file_bytes``: the whole file's size when ``path`` holds only its start."""
    with path.open("rb") as handle:
        size = file_bytes or path.stat().st_size
        if path.stat().st_size < 24:
            raise GGUFError(f"{path} is too short to be a GGUF file")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data[:4] != b"GGUF":
                raise GGUFError(f"{path} is not a GGUF file")
            cursor = _Cursor(data)
            cursor.at = 4
            version = int(cursor.take("<I"))
            if version < 2:
                raise GGUFError(f"GGUF version {version} is not supported")
            n_tensors, n_kv = int(cursor.take("<Q")), int(cursor.take("<Q"))
            metadata: dict[str, object] = {}
            for _ in range(n_kv):
                key = cursor.string()
                metadata[key] = cursor.value(int(cursor.take("<I")))
            offsets: list[tuple[int, str]] = []
            for _ in range(n_tensors):
                name = cursor.string()
                n_dims = int(cursor.take("<I"))
                cursor.at += 8 * n_dims + 4  # dims, type
                offsets.append((int(cursor.take("<Q")), name))
            align_value = metadata.get("general.alignment", 32)
            alignment = int(align_value) if isinstance(align_value, int) else 32
            data_start = -(-cursor.at // alignment) * alignment
    offsets.sort()
    sizes: dict[str, int] = {}
    for index, (offset, name) in enumerate(offsets):
        end = offsets[index + 1][0] if index + 1 < len(offsets) else size - data_start
        sizes[name] = end - offset
    return metadata, sizes, size


def read_model_shape(path: Path, file_bytes: int | None = None) -> ModelShape:
    metadata, sizes, file_bytes = read_metadata_and_tensors(path, file_bytes)
    arch = str(metadata.get("general.architecture", ""))

    def number(key: str, default: int | None = None) -> int:
        value = metadata.get(f"{arch}.{key}", default)
        if not isinstance(value, (int, float)):
            raise GGUFError(f"{path}: the header has no number {arch}.{key}")
        return int(value)

    n_layers, n_embd, n_head = (
        number("block_count"),
        number("embedding_length"),
        number("attention.head_count"),
    )
    n_head_kv = number("attention.head_count_kv", n_head)
    tokens = metadata.get("tokenizer.ggml.tokens")
    n_vocab = number("vocab_size", tokens.count if isinstance(tokens, ArrayLength) else 0)
    layers = [0] * n_layers
    for name, nbytes in sizes.items():
        if name.startswith("blk."):
            index = int(name.split(".")[1])
            if index < n_layers:
                layers[index] += nbytes
    output = sum(sizes.get(name, 0) for name in ("output.weight", "output_norm.weight"))
    if "output.weight" not in sizes:  # tied embeddings: the GPU gets a copy of them
        output += sizes.get("token_embd.weight", 0)
    return ModelShape(
        architecture=arch,
        n_layers=n_layers,
        n_embd=n_embd,
        n_head=n_head,
        n_head_kv=n_head_kv,
        head_dim_k=number("attention.key_length", n_embd // n_head),
        head_dim_v=number("attention.value_length", n_embd // n_head),
        context_length=number("context_length", 2048),
        n_vocab=n_vocab,
        n_ff=number("feed_forward_length", 4 * n_embd),
        file_bytes=file_bytes,
        layer_bytes=tuple(layers),
        output_bytes=output,
    )

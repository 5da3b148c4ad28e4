"""The semantic index: Chroma, one collection per memory type, with our own registered
embedding function and embeddings always passed explicitly.

Chroma is derived from the ledger and can be rebuilt from it (`rememora doctor
--reindex`); memories carry an ``index_pending`` flag in the ledger until Chroma has them,
so a crash between the two never leaves a memory unsearchable for good.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import StoreError
from core.records import Memory, MemoryId, MemoryType

if TYPE_CHECKING:
    from models.embedder import Embedder

COLLECTION_PREFIX = "rememora_"


@dataclass(frozen=True)
class DenseHit:
    memory_id: MemoryId
    similarity: float


class VectorIndex(Protocol):
    def upsert(self, memories: Sequence[Memory], vectors: Sequence[Sequence[float]]) -> None: ...

    def delete(self, memory_type: MemoryType, ids: Sequence[MemoryId]) -> None: ...

    def query(
        self,
        memory_type: MemoryType,
        vector: Sequence[float],
        limit: int,
        statuses: Sequence[str] = ("active",),
    ) -> list[DenseHit]: ...

    def entries(self, memory_type: MemoryType) -> dict[MemoryId, dict[str, str | float]]:
        """Every entry of one type: its id and metadata (to compare states in tests)."""
        ...

    def count(self, memory_type: MemoryType) -> int: ...

    def reset(self) -> None: ...


_LIVE_EMBEDDERS: dict[str, Embedder] = {}


def _embedding_function_class() -> type:
    """Define and register our embedding function with Chroma (once, lazily)."""
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import (
        known_embedding_functions,
        register_embedding_function,
    )

    if "rememora" in known_embedding_functions:
        return known_embedding_functions["rememora"]  # type: ignore[no-any-return]

    class RememoraEmbeddingFunction(EmbeddingFunction[Documents]):  # type: ignore[misc]
        """Chroma's view of our embedder; Chroma never loads a model of its own."""

        def __init__(self, model_name: str) -> None:
            self.model_name = model_name

        def __call__(self, input: Documents) -> Embeddings:
            embedder = _LIVE_EMBEDDERS.get(self.model_name)
            if embedder is None:
                raise StoreError(f"embedder {self.model_name} is not loaded")
            import numpy as np

            return [np.asarray(v, dtype=np.float32) for v in embedder.embed(list(input))]

        @staticmethod
        def name() -> str:
            return "rememora"

        def get_config(self) -> dict[str, Any]:
            return {"model_name": self.model_name}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> RememoraEmbeddingFunction:
            return RememoraEmbeddingFunction(str(config["model_name"]))

        def default_space(self) -> str:
            return "cosine"

    register_embedding_function(RememoraEmbeddingFunction)
    return RememoraEmbeddingFunction


class ChromaIndex:
    """Embedded Chroma (`PersistentClient`) in ``path``, or a Chroma server (`chroma run`,
    `HttpClient`) when ``host`` is given; telemetry off either way."""

    def __init__(self, path: Path, embedder: Embedder, host: str = "", port: int = 8000) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        _LIVE_EMBEDDERS[embedder.name] = embedder
        function_class = _embedding_function_class()
        self._function = function_class(embedder.name)
        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
        if host:
            try:
                self._client = chromadb.HttpClient(host=host, port=port, settings=settings)
                self._client.heartbeat()
            except Exception as exc:  # chromadb raises several kinds for "not there"
                raise StoreError(
                    f"the Chroma server at {host}:{port} cannot be reached: {exc}"
                ) from None
        else:
            self._client = chromadb.PersistentClient(path=str(path), settings=settings)
        self._collections: dict[MemoryType, Any] = {}
        self._lock = threading.Lock()

    def _collection(self, memory_type: MemoryType) -> Any:
        with self._lock:
            if memory_type not in self._collections:
                self._collections[memory_type] = self._client.get_or_create_collection(
                    name=COLLECTION_PREFIX + memory_type.value,
                    embedding_function=self._function,
                    configuration={"hnsw": {"space": "cosine"}},
                )
            return self._collections[memory_type]

    def upsert(self, memories: Sequence[Memory], vectors: Sequence[Sequence[float]]) -> None:
        by_type: dict[MemoryType, list[int]] = {}
        for position, memory in enumerate(memories):
            by_type.setdefault(memory.type, []).append(position)
        for memory_type, positions in by_type.items():
            self._collection(memory_type).upsert(
                ids=[memories[p].id for p in positions],
                embeddings=[list(vectors[p]) for p in positions],
                metadatas=[_metadata(memories[p]) for p in positions],
            )

    def delete(self, memory_type: MemoryType, ids: Sequence[MemoryId]) -> None:
        if ids:
            self._collection(memory_type).delete(ids=list(ids))

    def query(
        self,
        memory_type: MemoryType,
        vector: Sequence[float],
        limit: int,
        statuses: Sequence[str] = ("active",),
    ) -> list[DenseHit]:
        collection = self._collection(memory_type)
        size = collection.count()
        if size == 0:
            return []
        where: dict[str, Any] = (
            {"status": statuses[0]} if len(statuses) == 1 else {"status": {"$in": list(statuses)}}
        )
        result = collection.query(
            query_embeddings=[list(vector)],
            n_results=min(limit, size),
            where=where,
            include=["distances"],
        )
        return [
            DenseHit(MemoryId(memory_id), 1.0 - float(distance))
            for memory_id, distance in zip(result["ids"][0], result["distances"][0])
        ]

    def count(self, memory_type: MemoryType) -> int:
        return int(self._collection(memory_type).count())

    def entries(self, memory_type: MemoryType) -> dict[MemoryId, dict[str, str | float]]:
        got = self._collection(memory_type).get(include=["metadatas"])
        return {
            MemoryId(i): dict(meta or {}) for i, meta in zip(got["ids"], got["metadatas"] or [])
        }

    def reset(self) -> None:
        with self._lock:
            for collection in self._client.list_collections():
                name = collection if isinstance(collection, str) else collection.name
                if name.startswith(COLLECTION_PREFIX):
                    self._client.delete_collection(name)
            self._collections.clear()


def _metadata(memory: Memory) -> dict[str, str | float]:
    meta: dict[str, str | float] = {"status": memory.status.value}
    if memory.event_time is not None:
        meta["event_ts"] = memory.event_time.timestamp()
    return meta

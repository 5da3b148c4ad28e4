"""Fresh temporary stores for benchmark runs, built through the app's real write path
(Service.add_events then Service.ingest) with one embedder shared by all of them."""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.records import NewEvent, SearchHit, utcnow
from core.service import Clock, Service, throwaway_keys
from core.settings import Settings
from evaluation.options import ExtractMode
from models.embedder import Embedder
from models.llm import LLM

TURN_KEY = "turn_id"


class CachingEmbedder:
    """Wraps an embedder and remembers vectors by text (optionally on disk, as .npy
    files keyed by model and text hash), so repeated benchmark runs and the many texts
    LongMemEval haystacks share are embedded once. Vectors are the wrapped model's own."""

    def __init__(self, inner: Embedder, cache_dir: Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._memory: dict[str, list[float]] = {}
        self._dir = cache_dir / inner.name if cache_dir else None
        if self._dir:
            self._dir.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    def _key(self, text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) == 1:  # a question: always embedded, so query latency stays honest
            return self.inner.embed(texts)
        result: dict[int, list[float]] = {}
        missing: list[int] = []
        for position, text in enumerate(texts):
            key = self._key(text)
            vector = self._memory.get(key)
            if vector is None and self._dir and (self._dir / f"{key}.npy").exists():
                vector = np.load(self._dir / f"{key}.npy").tolist()
                self._memory[key] = vector
            if vector is None:
                missing.append(position)
            else:
                result[position] = vector
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.embed([texts[p] for p in missing])
            for position, vector in zip(missing, fresh):
                key = self._key(texts[position])
                self._memory[key] = vector
                if self._dir:
                    np.save(self._dir / f"{key}.npy", np.asarray(vector, dtype=np.float32))
        return [result.get(p) or self._memory[self._key(texts[p])] for p in range(len(texts))]


@dataclass
class BuiltStore:
    service: Service
    ingest_seconds: float
    store_bytes: int


def _release_chroma() -> None:
    """Chroma caches one client system per path; drop it once the temp store is gone."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


@contextmanager
def temp_store(
    events: Sequence[NewEvent],
    embedder: Embedder,
    settings: Settings,
    llm: LLM | None = None,
    clock: Clock = utcnow,
    extract: ExtractMode = "none",
) -> Iterator[BuiltStore]:
    """A fresh store holding ``events``, ingested the way the app ingests: with
    ``extract="none"`` only the raw episodic record of each turn (no LLM call), with
    ``"llm"`` the full typed extraction and reconcile of `rememora ingest`."""
    with tempfile.TemporaryDirectory(prefix="rememora-eval-") as folder:
        service = Service(
            Path(folder),
            settings=settings,
            embedder=embedder,
            llm=llm,
            clock=clock,
            keys=throwaway_keys(),  # a temporary store: nothing kept in the OS keyring
        )
        try:
            started = time.perf_counter()
            service.add_events(events)
            if extract == "llm":
                service.ingest()
            else:
                service.record_events()
            seconds = time.perf_counter() - started
            yield BuiltStore(service, seconds, service.status().store_bytes)
        finally:
            service.close()
            _release_chroma()


def hit_turns(service: Service, hits: Sequence[SearchHit]) -> list[list[str]]:
    """For each hit, the benchmark turn ids of the events it was made from."""
    event_ids = sorted({e for hit in hits for e in hit.memory.source_event_ids})
    turn_of = {event.id: event.payload.get(TURN_KEY) for event in service.events(event_ids)}
    return [[t for e in hit.memory.source_event_ids if (t := turn_of.get(e))] for hit in hits]

"""Hybrid retrieval: dense (Chroma) and lexical (FTS5 BM25) per memory type, fused by
reciprocal rank. Core memory is not searched: it is always in the prompt. Vault entries
are searched only when the question asks for that kind of thing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.ledger import Ledger
from core.records import MemoryId, MemoryType, SearchHit
from core.vector_index import VectorIndex
from models.embedder import Embedder

RRF_K = 60
SEARCHED_TYPES = (MemoryType.EPISODIC, MemoryType.SEMANTIC, MemoryType.PROCEDURAL,
                  MemoryType.RESOURCE)
_VAULT_WORDS = re.compile(
    r"\b(password|passcode|pin|account|iban|card|address|credential|login|token|key|"
    r"number|ssn|passport|licen[cs]e)s?\b", re.IGNORECASE)


@dataclass(frozen=True)
class RetrievalSettings:
    top_k: int = 8
    candidates: int = 30
    min_similarity: float = 0.25


def asks_for_vault(question: str) -> bool:
    return bool(_VAULT_WORDS.search(question))


def search(
    question: str, ledger: Ledger, index: VectorIndex, embedder: Embedder,
    settings: RetrievalSettings, types: tuple[MemoryType, ...] | None = None,
) -> list[SearchHit]:
    if types is None:
        types = SEARCHED_TYPES + ((MemoryType.VAULT,) if asks_for_vault(question) else ())
    vector = embedder.embed([question])[0]
    fused: dict[MemoryId, float] = {}
    dense_rank: dict[MemoryId, int] = {}
    lexical_rank: dict[MemoryId, int] = {}
    similarity: dict[MemoryId, float] = {}
    for memory_type in types:
        for rank, hit in enumerate(index.query(memory_type, vector, settings.candidates)):
            similarity[hit.memory_id] = hit.similarity
            dense_rank[hit.memory_id] = rank
            fused[hit.memory_id] = fused.get(hit.memory_id, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, (memory_id, _score) in enumerate(
            ledger.lexical_search(question, memory_type, settings.candidates)
        ):
            lexical_rank[memory_id] = rank
            fused[memory_id] = fused.get(memory_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    relevant = [
        memory_id for memory_id in fused
        if memory_id in lexical_rank or similarity.get(memory_id, -1.0) >= settings.min_similarity
    ]
    relevant.sort(key=lambda memory_id: fused[memory_id], reverse=True)
    chosen = relevant[: settings.top_k]
    memories = ledger.get_many(chosen)
    return [
        SearchHit(memories[m], fused[m], dense_rank.get(m), lexical_rank.get(m))
        for m in chosen if m in memories and memories[m].status.value == "active"
    ]

"""Hybrid retrieval: dense (Chroma) and lexical (FTS5 BM25) per memory type, fused by
reciprocal rank, then shaped by what the question says.

1. Active retrieval (core.retrieval.query_plan): the question's keywords, speakers, time
   window and the sides of a comparison are derived first, by rules, at no model cost.
2. Candidates: a dense list (the question's embedding) and a lexical list (its keywords)
   per searched type, fused by weighted reciprocal rank. A comparison ("between A and B",
   "which came first, A or B") also searches each side on its own, and a memory gains a
   share of its best side's score: one embedding of the whole question lands near
   whichever side dominates it, and the other side's answer is often in another session.
3. Mild, multiplicative boosts: the speaker the question is about (the user's own turns
   when it says "I" or "my"), the time window it names, recency and importance. None of
   them filters: a boost only reorders.
4. Neighbour expansion: the turns right before and after a strong episodic hit (same
   session) inherit part of its score, because a reply often holds what its question set
   up; when the question is about certain speakers only their turns inherit (the
   assistant's long answer to "my" question does not crowd out the user's own turns).

Core memory is not searched: it is always in the prompt. Vault entries are searched only
when the question asks for that kind of thing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

from core.records import EventId, Memory, MemoryId, MemoryType, SearchHit, utcnow
from core.retrieval.query_plan import ASSISTANT, USER, QueryPlan, analyse
from core.store.ledger import Ledger
from core.store.vector_index import VectorIndex
from models.embedder import Embedder

ROLES = frozenset({USER, ASSISTANT})
SEARCHED_TYPES = (
    MemoryType.EPISODIC,
    MemoryType.SEMANTIC,
    MemoryType.PROCEDURAL,
    MemoryType.RESOURCE,
)
_VAULT_WORDS = re.compile(
    r"\b(password|passcode|pin|account|iban|card|address|credential|login|token|key|"
    r"number|ssn|passport|licen[cs]e)s?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RetrievalSettings:
    """Tuned on LOCOMO conv-26 and conv-30 and the first 55 LongMemEval_S dev questions;
    LOCOMO conv-41 and the other 43 LongMemEval questions were held out (BENCHMARKS.md)."""

    top_k: int = 8
    candidates: int = 60
    min_similarity: float = 0.25
    fusion: str = "score"  # lexical: "score" (BM25 / best), "minmax" or "rrf" (by rank)
    dense_fusion: str = "minmax"  # cosines bunch together: spread them over 0..1
    rrf_k: int = 20
    dense_weight: float = 0.7
    lexical_weight: float = 1.0
    speaker_boost: float = 0.5
    self_boost: float = 1.0  # "What did I ...": the user's own turns, in a chat with an assistant
    neighbour_same_role: bool = True  # "my" question: the assistant's replies do not gain
    time_boost: float = 0.3
    recency_boost: float = 0.05
    recency_half_life_days: float = 30.0
    importance_boost: float = 0.1
    neighbour_seeds: int = 15
    neighbour_share: float = 0.2  # a turn right before or after a strong hit
    reply_share: float = 0.6  # the turn answering a hit that asks a question
    neighbour_reach: int = 1
    session_decay: float = 1.0  # 1.0: off (diversifying across sessions did not help)
    part_weight: float = 0.5  # a comparison's sides, each searched on its own


def asks_for_vault(question: str) -> bool:
    return bool(_VAULT_WORDS.search(question))


@dataclass
class _Candidate:
    score: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None
    similarity: float = -1.0


def _fusion_scores(raw: list[float], cfg: RetrievalSettings, mode: str) -> list[float]:
    """Each list's contribution to the fused score, best first."""
    if mode == "score":  # relative to the list's best, so near-ties stay near
        high = max(raw, default=0.0)
        return [max(value, 0.0) / high if high > 0 else 0.0 for value in raw]
    if mode == "minmax":
        low, high = min(raw, default=0.0), max(raw, default=0.0)
        return [(value - low) / (high - low) if high > low else 1.0 for value in raw]
    return [1.0 / (cfg.rrf_k + rank + 1) for rank in range(len(raw))]


def _gather(
    types: tuple[MemoryType, ...],
    vector: list[float],
    topic: str,
    ledger: Ledger,
    index: VectorIndex,
    cfg: RetrievalSettings,
    statuses: tuple[str, ...] = ("active",),
) -> dict[MemoryId, _Candidate]:
    """Dense and lexical candidates of every searched type, fused into one score each."""
    candidates: dict[MemoryId, _Candidate] = {}
    for memory_type in types:
        dense = index.query(memory_type, vector, cfg.candidates, statuses)
        lexical = ledger.lexical_search(topic, memory_type, cfg.candidates, statuses)
        dense_scores = _fusion_scores([h.similarity for h in dense], cfg, cfg.dense_fusion)
        lexical_scores = _fusion_scores([score for _m, score in lexical], cfg, cfg.fusion)
        for rank, (hit, value) in enumerate(zip(dense, dense_scores)):
            entry = candidates.setdefault(hit.memory_id, _Candidate())
            entry.similarity, entry.dense_rank = hit.similarity, rank
            entry.score += cfg.dense_weight * value
        for rank, ((memory_id, _bm25), value) in enumerate(zip(lexical, lexical_scores)):
            entry = candidates.setdefault(memory_id, _Candidate())
            entry.lexical_rank = rank
            entry.score += cfg.lexical_weight * value
    return candidates


def _add_parts(
    candidates: dict[MemoryId, _Candidate],
    parts: list[dict[MemoryId, _Candidate]],
    cfg: RetrievalSettings,
) -> None:
    """A memory that answers one side of a comparison gains a share of its best side's
    score, so each side's answer can reach the top and not only the dominant one."""
    best: dict[MemoryId, float] = {}
    for found in parts:
        for memory_id, entry in found.items():
            best[memory_id] = max(best.get(memory_id, 0.0), entry.score)
    for memory_id, score in best.items():
        candidates.setdefault(memory_id, _Candidate()).score += cfg.part_weight * score


def _boost(memory: Memory, plan: QueryPlan, now: datetime, cfg: RetrievalSettings) -> float:
    factor = 1.0
    actor = memory.fields.get("actor")
    if plan.speakers and actor in plan.speakers:
        factor *= 1.0 + (cfg.self_boost if actor == USER else cfg.speaker_boost)
    moment = memory.event_time or memory.created_at
    if plan.window is not None and plan.window.contains(moment):
        factor *= 1.0 + cfg.time_boost
    age_days = max(0.0, (now - moment).total_seconds() / 86400.0)
    factor *= 1.0 + cfg.recency_boost * math.exp(-age_days / cfg.recency_half_life_days)
    factor *= 1.0 + cfg.importance_boost * (memory.importance - 0.5)
    return factor


def _same_session(a: Memory, b: Memory) -> bool:
    if "session" in a.fields or "session" in b.fields:
        return a.fields.get("session") == b.fields.get("session")
    if a.event_time is None or b.event_time is None:
        return False
    return abs((a.event_time - b.event_time).total_seconds()) < 3600


def _expand_neighbours(
    ranked: list[MemoryId],
    scores: dict[MemoryId, float],
    memories: dict[MemoryId, Memory],
    ledger: Ledger,
    cfg: RetrievalSettings,
    speakers: frozenset[str],
) -> None:
    """Give the turns next to the strongest episodic hits a share of their score."""
    seeds = [
        memories[m]
        for m in ranked[: cfg.neighbour_seeds]
        if m in memories
        and memories[m].type is MemoryType.EPISODIC
        and len(memories[m].source_event_ids) == 1
    ]
    wanted: set[EventId] = set()
    for seed in seeds:
        event = seed.source_event_ids[0]
        wanted.update(
            EventId(event + step)
            for step in range(-cfg.neighbour_reach, cfg.neighbour_reach + 1)
            if step
        )
    around = ledger.episodic_by_events(sorted(wanted))
    gained: dict[MemoryId, float] = {}
    for seed in seeds:
        event = seed.source_event_ids[0]
        for step in range(-cfg.neighbour_reach, cfg.neighbour_reach + 1):
            neighbour = around.get(EventId(event + step))
            if not step or neighbour is None or not _same_session(seed, neighbour):
                continue
            if cfg.neighbour_same_role and _other_role(neighbour, speakers):
                continue
            asks = step == 1 and "?" in seed.text
            share = (cfg.reply_share if asks else cfg.neighbour_share) * scores[seed.id] / abs(step)
            gained[neighbour.id] = max(gained.get(neighbour.id, 0.0), share)
            memories.setdefault(neighbour.id, neighbour)
    for memory_id, share in gained.items():
        scores[memory_id] = scores.get(memory_id, 0.0) + share


def _other_role(memory: Memory, speakers: frozenset[str]) -> bool:
    """In a chat with an assistant, a question about one side (the user's "I", or the
    assistant's "you told me") is answered by that side's turns; the other side's turn next
    to a hit restates or advises. Between people who are named, the other's reply often
    is the answer ("What's your puppy's name?" "Oscar!"), so names never exclude."""
    actor = memory.fields.get("actor")
    return bool(speakers & ROLES) and actor in ROLES and actor not in speakers


def _diversify(
    ranked: list[MemoryId],
    scores: dict[MemoryId, float],
    memories: dict[MemoryId, Memory],
    decay: float,
) -> list[MemoryId]:
    """Each further hit from an already represented session counts a little less, so
    questions whose answer spans sessions see more than one session (MMR in spirit)."""
    seen: dict[str, int] = {}
    for memory_id in ranked:
        session = memories[memory_id].fields.get("session")
        if session is None:
            continue
        scores[memory_id] *= decay ** seen.get(session, 0)
        seen[session] = seen.get(session, 0) + 1
    return sorted(ranked, key=scores.__getitem__, reverse=True)


def search(
    question: str,
    ledger: Ledger,
    index: VectorIndex,
    embedder: Embedder,
    settings: RetrievalSettings,
    types: tuple[MemoryType, ...] | None = None,
    now: datetime | None = None,
    include_archived: bool = False,
) -> list[SearchHit]:
    """The memories most relevant to ``question``, best first (at most ``top_k``).
    ``include_archived``: memories that decay archived are searched too (asked for
    explicitly; by default they stay out)."""
    cfg = settings
    now = now or utcnow()
    statuses = ("active", "archived") if include_archived else ("active",)
    if types is None:
        types = SEARCHED_TYPES + ((MemoryType.VAULT,) if asks_for_vault(question) else ())
    present = ledger.count_memories(statuses)
    types = tuple(t for t in types if present.get(t, 0) > 0)  # an empty type costs a Chroma call
    plan = analyse(question, ledger.episodic_actors(), now)
    queries = [(question, plan.topic or question)] + list(zip(plan.parts, plan.part_topics))
    if cfg.part_weight <= 0:
        queries = queries[:1]
    vectors = embedder.embed([text for text, _topic in queries])
    candidates = _gather(types, vectors[0], queries[0][1], ledger, index, cfg, statuses)
    if not any(
        c.lexical_rank is not None or c.similarity >= cfg.min_similarity
        for c in candidates.values()
    ):
        return []  # nothing shares a word with the question or comes close in meaning
    _add_parts(
        candidates,
        [
            _gather(types, vector, topic, ledger, index, cfg, statuses)
            for vector, (_text, topic) in zip(vectors[1:], queries[1:])
        ],
        cfg,
    )
    memories = {
        m: memory
        for m, memory in ledger.get_many(list(candidates)).items()
        if memory.status.value in statuses
    }
    scores = {m: candidates[m].score * _boost(memories[m], plan, now, cfg) for m in memories}
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    if cfg.neighbour_share > 0 or cfg.reply_share > 0:
        _expand_neighbours(ranked, scores, memories, ledger, cfg, plan.speakers)
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    if cfg.session_decay < 1.0:
        ranked = _diversify(ranked, scores, memories, cfg.session_decay)
    return [
        SearchHit(
            memories[m],
            scores[m],
            candidates[m].dense_rank if m in candidates else None,
            candidates[m].lexical_rank if m in candidates else None,
        )
        for m in ranked[: cfg.top_k]
    ]

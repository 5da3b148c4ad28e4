"""Reconcile a candidate memory with its nearest existing memories of the same type.

The decision is code, not the model: a small local model proposes, rules dispose.

- NOOP: an exact or near duplicate (same key and value, same text, or cosine >= 0.92).
- SUPERSEDE: a semantic fact or vault entry with the same key (subject+attribute, kind+label)
  and a different value contradicts the old one, which is kept as superseded.
- UPDATE: a procedure or resource with the same key, or a close neighbour (cosine >= 0.8),
  is merged into the existing memory (version +1); a core block is rewritten within its cap.
- ADD: anything else.

Nearest neighbours come from hybrid search (Chroma + FTS5) plus what this batch wrote.
Decisions run inside the batch's write (they must see its own writes); the texts they
compare are embedded before it opens (:meth:`Reconciler.prepare`).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.ingest.type_extractors import Candidate, normalize
from core.ingest.vector_cache import VectorCache
from core.records import Memory, MemoryType, NewMemory, SearchHit
from core.retrieval.search import RetrievalSettings, search
from core.store.ledger import Ledger
from core.store.vault import VaultCipher
from core.store.vector_index import VectorIndex
from core.store.writer import MemoryWriter
from models.embedder import Embedder

NEAR_DUPLICATE = 0.92
MERGE_SIMILARITY = 0.80
CORE_BLOCK_CHARS = 600
_NEIGHBOURS = RetrievalSettings(top_k=5, candidates=20, min_similarity=0.3)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class Op(str, enum.Enum):
    ADD = "ADD"
    UPDATE = "UPDATE"
    SUPERSEDE = "SUPERSEDE"
    NOOP = "NOOP"


@dataclass(frozen=True)
class Decision:
    op: Op
    target: Memory | None
    reason: str


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _sentences(text: str) -> list[str]:
    """The sentences of a core block's text, as the block rewrite compares them."""
    return [s for s in _SENTENCE.split(text) if s.strip()]


def fit_block(sentences: Sequence[str], cap: int) -> str:
    """Join sentences, dropping the oldest until the block fits in ``cap`` characters."""
    kept = [s.strip() for s in sentences if s.strip()]
    while len(kept) > 1 and len(" ".join(kept)) > cap:
        kept.pop(0)
    text = " ".join(kept)
    return text if len(text) <= cap else text[: cap - 1].rsplit(" ", 1)[0] + "…"


def decide(
    candidate: Candidate, same_key: Sequence[Memory], neighbours: Sequence[tuple[Memory, float]]
) -> Decision:
    """Pure decision for non-core, non-vault candidates."""
    text = normalize(candidate.text)
    for memory in same_key:
        if candidate.type is MemoryType.SEMANTIC:
            if normalize(memory.fields.get("value", "")) == normalize(
                candidate.fields.get("value", "")
            ):
                return Decision(Op.NOOP, memory, "same fact already known")
            return Decision(
                Op.SUPERSEDE,
                memory,
                f"{candidate.fields.get('attribute', 'value')} changed from "
                f"{memory.fields.get('value', '')!r} to {candidate.fields.get('value', '')!r}",
            )
        if normalize(memory.text) == text:
            return Decision(Op.NOOP, memory, "same text already known")
        return Decision(Op.UPDATE, memory, "same key: merged")
    best = max(neighbours, key=lambda pair: pair[1], default=None)
    if best is not None:
        memory, similarity = best
        if normalize(memory.text) == text or similarity >= NEAR_DUPLICATE:
            return Decision(Op.NOOP, memory, f"near duplicate (cosine {similarity:.2f})")
        if (
            candidate.type in (MemoryType.PROCEDURAL, MemoryType.RESOURCE)
            and similarity >= MERGE_SIMILARITY
        ):
            return Decision(Op.UPDATE, memory, f"close neighbour merged (cosine {similarity:.2f})")
    return Decision(Op.ADD, None, "new")


class Reconciler:
    def __init__(
        self,
        ledger: Ledger,
        index: VectorIndex,
        embedder: Embedder,
        cipher: VaultCipher,
        core_cap: int = CORE_BLOCK_CHARS,
        reason_tag: str = "",
    ) -> None:
        self.ledger = ledger
        self.index = index
        self.embedder = embedder
        self.cipher = cipher
        self.core_cap = core_cap
        self.reason_tag = reason_tag  # appended to every history reason (a consolidation run's id)

    def prepare(self, candidates: Sequence[Candidate]) -> VectorCache:
        """Embed, before the write opens, every text :meth:`apply` will compare: the
        candidates (a core one also sentence by sentence), the sentences of the core
        blocks, and each candidate's neighbours as search finds them now. The cache
        returned is strict: inside the write it never calls the model."""
        cache = VectorCache(self.embedder)
        compared = [c for c in candidates if c.type is not MemoryType.VAULT]
        texts = [c.text for c in compared]
        if any(c.type is MemoryType.CORE for c in compared):
            # a candidate's sentences, as they read once the block holds them (stripped)
            texts += [
                s for c in compared if c.type is MemoryType.CORE for s in _sentences(c.text.strip())
            ]
            texts += [
                s for m in self.ledger.list_memories(MemoryType.CORE) for s in _sentences(m.text)
            ]
        cache.fill(texts)
        found = [
            hit.memory.text
            for c in compared
            if c.type is not MemoryType.CORE
            for hit in self._search(c, cache)
        ]
        cache.fill(found)
        cache.strict = True
        return cache

    def _search(self, candidate: Candidate, vectors: Embedder) -> list[SearchHit]:
        return search(
            candidate.text,
            self.ledger,
            self.index,
            vectors,
            _NEIGHBOURS,
            (candidate.type,),
        )

    def neighbours(
        self, writer: MemoryWriter, candidate: Candidate, vectors: Embedder
    ) -> list[tuple[Memory, float]]:
        found = {h.memory.id: h.memory for h in self._search(candidate, vectors)}
        for memory in writer.written:
            if memory.type is candidate.type:
                found[memory.id] = writer.get(memory.id)
        memories = [m for m in found.values() if m.status.value == "active"]
        if not memories:
            return []
        embedded = vectors.embed([candidate.text, *(m.text for m in memories)])
        return [(m, _cosine(embedded[0], v)) for m, v in zip(memories, embedded[1:])]

    def apply(
        self, writer: MemoryWriter, candidate: Candidate, vectors: Embedder
    ) -> tuple[Op, Memory | None]:
        """Decide and carry out one candidate inside the open write; ``vectors`` is the
        cache :meth:`prepare` filled (it raises VectorsMissing for a text it lacks)."""
        if candidate.type is MemoryType.CORE:
            return self._core(writer, candidate, vectors)
        if candidate.type is MemoryType.VAULT:
            return self._vault(writer, candidate)
        same_key = (
            writer.find_active_by_field(candidate.type, "key", candidate.key)
            if candidate.key
            else []
        )
        decision = decide(candidate, same_key, self.neighbours(writer, candidate, vectors))
        return decision.op, self._carry_out(writer, candidate, decision)

    def _new(
        self, candidate: Candidate, text: str | None = None, fields: dict[str, str] | None = None
    ) -> NewMemory:
        extra = {"key": candidate.key} if candidate.key else {}
        return NewMemory(
            candidate.type,
            text or candidate.text,
            candidate.event_time,
            candidate.source_event_ids,
            {**(fields or candidate.fields), **extra},
            sensitivity=candidate.sensitivity,
        )

    def _carry_out(
        self, writer: MemoryWriter, candidate: Candidate, decision: Decision
    ) -> Memory | None:
        actor = candidate.actor
        reason = decision.reason + self.reason_tag
        if decision.op is Op.NOOP:
            return decision.target
        if decision.op is Op.ADD:
            return writer.add(self._new(candidate), reason, actor)
        assert decision.target is not None
        if decision.op is Op.SUPERSEDE:
            return writer.supersede(decision.target, self._new(candidate), reason, actor)
        return writer.update(
            decision.target,
            candidate.text,
            candidate.fields,
            candidate.source_event_ids,
            reason,
            actor,
        )

    def _core(
        self, writer: MemoryWriter, candidate: Candidate, vectors: Embedder
    ) -> tuple[Op, Memory | None]:
        block = candidate.fields.get("block", "human")
        current = writer.find_active_by_field(MemoryType.CORE, "block", block)
        if not current:
            return Op.ADD, writer.add(
                self._new(candidate, fit_block([candidate.text], self.core_cap)),
                f"new {block} block{self.reason_tag}",
                candidate.actor,
            )
        memory = current[0]
        sentences = _sentences(memory.text)
        if normalize(candidate.text) in normalize(memory.text):
            return Op.NOOP, memory
        embedded = vectors.embed([candidate.text, *sentences])
        if any(_cosine(embedded[0], v) >= NEAR_DUPLICATE for v in embedded[1:]):
            return Op.NOOP, memory
        text = fit_block([*sentences, candidate.text], self.core_cap)
        return Op.UPDATE, writer.update(
            memory,
            text,
            {"block": block},
            candidate.source_event_ids,
            f"{block} block rewritten within {self.core_cap} characters{self.reason_tag}",
            candidate.actor,
        )

    def _vault(self, writer: MemoryWriter, candidate: Candidate) -> tuple[Op, Memory | None]:
        return keep_in_vault(writer, self.cipher, candidate, self.reason_tag)


def keep_in_vault(
    writer: MemoryWriter, cipher: VaultCipher, candidate: Candidate, reason_tag: str = ""
) -> tuple[Op, Memory | None]:
    """A vault candidate written encrypted: NOOP for a value already kept, SUPERSEDE for a
    new value under the same label, else ADD. Its text (what is embedded and searched) is
    the label, never the value."""
    value = normalize(candidate.secret)
    for memory in writer.list_all(MemoryType.VAULT):
        token = memory.fields.get("value")
        if memory.status.value == "active" and token and normalize(cipher.decrypt(token)) == value:
            return Op.NOOP, memory
    fields = {**candidate.fields, "value": cipher.encrypt(candidate.secret)}
    if candidate.secret.lower() in candidate.text.lower():  # a label must not hold the value
        fields["label"] = candidate.fields.get("vault_type", "item")
        text = f"{fields['label']} ({fields['label']})"
    else:
        text = candidate.text
    extra = {"key": candidate.key} if candidate.key else {}
    new = NewMemory(
        candidate.type,
        text,
        candidate.event_time,
        candidate.source_event_ids,
        {**fields, **extra},
        sensitivity=candidate.sensitivity,
    )
    same_key = writer.find_active_by_field(MemoryType.VAULT, "key", candidate.key)
    if same_key:
        return Op.SUPERSEDE, writer.supersede(
            same_key[0], new, "vault value changed" + reason_tag, candidate.actor
        )
    return Op.ADD, writer.add(new, "sensitive item kept encrypted" + reason_tag, candidate.actor)

"""Reconcile a candidate memory with its nearest existing memories of the same type.

The decision is code, not the model: a small local model proposes, rules dispose.

- NOOP: an exact or near duplicate (same key and value, same text, or cosine >= 0.92).
- SUPERSEDE: a semantic fact or vault entry with the same key (subject+attribute, kind+label)
  and a different value contradicts the old one, which is kept as superseded.
- UPDATE: a procedure or resource with the same key, or a close neighbour (cosine >= 0.8),
  is merged into the existing memory (version +1); a core block is rewritten within its cap.
- ADD: anything else.

Nearest neighbours come from hybrid search (Chroma + FTS5) plus what this batch wrote.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.ingest.type_extractors import Candidate, normalize
from core.records import Memory, MemoryType, NewMemory
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
    ) -> None:
        self.ledger = ledger
        self.index = index
        self.embedder = embedder
        self.cipher = cipher
        self.core_cap = core_cap

    def neighbours(self, writer: MemoryWriter, candidate: Candidate) -> list[tuple[Memory, float]]:
        found = {
            h.memory.id: h.memory
            for h in search(
                candidate.text,
                self.ledger,
                self.index,
                self.embedder,
                _NEIGHBOURS,
                (candidate.type,),
            )
        }
        for memory in writer.written:
            if memory.type is candidate.type:
                found[memory.id] = self.ledger.get_in(writer.db, memory.id)
        memories = [m for m in found.values() if m.status.value == "active"]
        if not memories:
            return []
        vectors = self.embedder.embed([candidate.text, *(m.text for m in memories)])
        return [(m, _cosine(vectors[0], v)) for m, v in zip(memories, vectors[1:])]

    def apply(self, writer: MemoryWriter, candidate: Candidate) -> tuple[Op, Memory | None]:
        if candidate.type is MemoryType.CORE:
            return self._core(writer, candidate)
        if candidate.type is MemoryType.VAULT:
            return self._vault(writer, candidate)
        same_key = (
            self.ledger.find_active_by_field(writer.db, candidate.type, "key", candidate.key)
            if candidate.key
            else []
        )
        decision = decide(candidate, same_key, self.neighbours(writer, candidate))
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
        if decision.op is Op.NOOP:
            return decision.target
        if decision.op is Op.ADD:
            return writer.add(self._new(candidate), decision.reason, actor)
        assert decision.target is not None
        if decision.op is Op.SUPERSEDE:
            return writer.supersede(decision.target, self._new(candidate), decision.reason, actor)
        return writer.update(
            decision.target,
            candidate.text,
            candidate.fields,
            candidate.source_event_ids,
            decision.reason,
            actor,
        )

    def _core(self, writer: MemoryWriter, candidate: Candidate) -> tuple[Op, Memory | None]:
        block = candidate.fields.get("block", "human")
        current = self.ledger.find_active_by_field(writer.db, MemoryType.CORE, "block", block)
        if not current:
            return Op.ADD, writer.add(
                self._new(candidate, fit_block([candidate.text], self.core_cap)),
                f"new {block} block",
                candidate.actor,
            )
        memory = current[0]
        sentences = [s for s in _SENTENCE.split(memory.text) if s.strip()]
        if normalize(candidate.text) in normalize(memory.text):
            return Op.NOOP, memory
        vectors = self.embedder.embed([candidate.text, *sentences])
        if any(_cosine(vectors[0], v) >= NEAR_DUPLICATE for v in vectors[1:]):
            return Op.NOOP, memory
        text = fit_block([*sentences, candidate.text], self.core_cap)
        return Op.UPDATE, writer.update(
            memory,
            text,
            {"block": block},
            candidate.source_event_ids,
            f"{block} block rewritten within {self.core_cap} characters",
            candidate.actor,
        )

    def _vault(self, writer: MemoryWriter, candidate: Candidate) -> tuple[Op, Memory | None]:
        value = normalize(candidate.secret)
        for memory in self.ledger.list_memories(MemoryType.VAULT):
            token = memory.fields.get("value")
            if token and normalize(self.cipher.decrypt(token)) == value:
                return Op.NOOP, memory
        fields = {**candidate.fields, "value": self.cipher.encrypt(candidate.secret)}
        if candidate.secret.lower() in candidate.text.lower():  # a label must not hold the value
            fields["label"] = candidate.fields.get("vault_type", "item")
            text = f"{fields['label']} ({fields['label']})"
        else:
            text = candidate.text
        new = self._new(candidate, text, fields)
        same_key = self.ledger.find_active_by_field(
            writer.db, MemoryType.VAULT, "key", candidate.key
        )
        if same_key:
            return Op.SUPERSEDE, writer.supersede(
                same_key[0], new, "vault value changed", candidate.actor
            )
        return Op.ADD, writer.add(new, "sensitive item kept encrypted", candidate.actor)

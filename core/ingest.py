"""The write path from the event log to memory.

Every pending event becomes at least a raw episodic memory, in the same transaction that
marks the event processed, so a crash anywhere neither loses an event nor duplicates a
memory. Typed extraction (semantic, procedural, …) by the LLM grows here later; the raw
record stays, so nothing observed is lost when a model is weak or fails.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from core.ledger import Ledger
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import Event, EventKind, MemoryType, NewMemory
from core.vector_index import VectorIndex
from models.embedder import Embedder

BATCH = 64


@dataclass
class IngestReport:
    events: int = 0
    ops: Counter[tuple[str, str]] = field(default_factory=Counter)
    indexed: int = 0

    def summary(self) -> str:
        if not self.events and not self.indexed:
            return "nothing pending"
        parts = [f"{n} {op} {t}" for (op, t), n in sorted(self.ops.items())]
        return f"{self.events} event(s): " + (", ".join(parts) or "no memory changes")


def episodic_record(event: Event) -> NewMemory:
    speaker = event.speaker or ("screen" if event.kind is EventKind.SCREEN else "user")
    return NewMemory(
        type=MemoryType.EPISODIC,
        text=f"{speaker}: {event.text}",
        event_time=event.occurred_at,
        source_event_ids=(event.id,),
        fields={"actor": speaker, "event_type": f"{event.kind.value}_turn",
                **({"session": event.payload["session"]} if "session" in event.payload else {})},
    )


def sync_index(ledger: Ledger, index: VectorIndex, embedder: Embedder,
               progress: Progress = NULL_PROGRESS) -> int:
    """Embed and index every memory the ledger marks as not yet in Chroma."""
    pending = ledger.pending_index()
    for start in range(0, len(pending), BATCH):
        check_cancelled(progress)
        chunk = pending[start:start + BATCH]
        index.upsert(chunk, embedder.embed([m.text for m in chunk]))
        ledger.mark_indexed([m.id for m in chunk])
        progress.update(start + len(chunk), len(pending), "indexing memories")
    return len(pending)


def process_pending(ledger: Ledger, index: VectorIndex, embedder: Embedder,
                    progress: Progress = NULL_PROGRESS) -> IngestReport:
    report = IngestReport()
    total = ledger.count_events().get("pending", 0)
    while events := ledger.pending_events(limit=BATCH):
        check_cancelled(progress)
        with ledger.transaction() as db:
            for event in events:
                ledger.insert_memory(db, episodic_record(event), actor="ingest",
                                     reason="raw episodic record of an event")
                report.ops[("ADD", MemoryType.EPISODIC.value)] += 1
            ledger.mark_events_processed(db, [e.id for e in events])
        report.events += len(events)
        progress.update(report.events, total, "processing events")
    report.indexed = sync_index(ledger, index, embedder, progress)
    return report

"""Undo one consolidation run: every memory row it touched goes back exactly as it was
before the run (the ``before`` of the run's first history row for it; a row the run
added is removed), in one unit of work, and Chroma follows (removed rows leave the
index, the others are indexed again as they were). A run whose memories were changed
again afterwards (by an ingest, a user edit or a later run) is refused, so an undo never
throws away later work; undo the later run first. Dropped screenshots are not brought
back (their text stays in the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.consolidate.context import ACTOR, run_tag
from core.errors import ConsolidationError
from core.ingest.pipeline import sync_index
from core.progress import NULL_PROGRESS, Progress
from core.records import MemoryId, MemoryType
from core.store.ledger import Ledger
from core.store.vector_index import VectorIndex
from models.embedder import Embedder


@dataclass(frozen=True)
class UndoReport:
    run_id: str
    restored: int
    removed: int

    def summary(self) -> str:
        return (
            f"undid run {self.run_id}: {self.restored} memories restored, "
            f"{self.removed} it had added removed"
        )


def undo_run(
    ledger: Ledger,
    index: VectorIndex,
    embedder: Embedder,
    run_id: str,
    progress: Progress = NULL_PROGRESS,
) -> UndoReport:
    run = ledger.consolidation_run(run_id)
    if run is None:
        raise ConsolidationError(f"no consolidation run {run_id!r}")
    if run.status in ("undone", "running"):
        raise ConsolidationError(f"consolidation run {run_id} is {run.status}: nothing to undo")
    rows = ledger.history_tagged(ACTOR, run_tag(run_id))
    before: dict[MemoryId, dict[str, object] | None] = {}
    kinds: dict[MemoryId, MemoryType] = {}
    last: dict[MemoryId, int] = {}
    for row in rows:
        if row.memory_id not in before:
            before[row.memory_id] = None if row.op == "ADD" else row.before
        seen = row.after or row.before or {}
        kinds[row.memory_id] = MemoryType(str(seen.get("type", "semantic")))
        last[row.memory_id] = row.id
    for memory_id in before:
        if ledger.last_history_id(memory_id) > last[memory_id]:
            raise ConsolidationError(
                f"memory {memory_id} changed after consolidation run {run_id}; "
                "undo the later change first"
            )
    with ledger.write(actor=ACTOR) as tx:
        for memory_id, snapshot in before.items():
            tx.memories.revert(memory_id, snapshot, f"undo of consolidation run {run_id}")
        tx.runs.set_status(run_id, "undone")
    removed = [m for m, snapshot in before.items() if snapshot is None]
    for memory_type in {kinds[m] for m in removed}:
        index.delete(memory_type, [m for m in removed if kinds[m] is memory_type])
    sync_index(ledger, index, embedder, progress)
    return UndoReport(run_id, len(before) - len(removed), len(removed))

"""The consolidation run: its registry row, its steps in order, its report.

A run takes the store's high-water marks (the newest event id and history row id) when
it starts; each step looks only at what came after the previous finished run's marks
(decay looks at every memory: time passes for all of them). The steps, each its own
module, run in this order:

1. reread: batches whose routing produced nothing typed are read again;
2. contradictions: newer facts supersede older ones (or are held for confirmation);
3. merge: near-duplicate facts and procedures become one;
4. summarise: episodes roll up into session and day summaries;
5. core_rewrite: the ``human`` block is rewritten from recent evidence;
6. procedures: workflows seen more than once become procedures;
7. decay: strength falls with disuse; weak memories are archived;
8. media: screenshots whose text is kept are dropped to fit the storage budget.

A dry run decides the same way without the model (it says what the model would
summarise, rewrite or re-read) and writes nothing, not even its registry row. Chroma
follows the ledger after every step (``sync_index``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.capture.frame_files import FrameFiles
from core.consolidate import (
    contradictions,
    core_rewrite,
    decay,
    media,
    merge,
    procedures,
    reread,
    summarise,
)
from core.consolidate.context import ACTOR, RunContext, run_tag
from core.consolidate.report import ConsolidationReport
from core.identity import Identity
from core.ingest.pipeline import sync_index
from core.ingest.reconcile import Reconciler
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import MemoryStatus
from core.settings import ConsolidationSettings
from core.store.clock import Clock
from core.store.ledger import Ledger
from core.store.vault import VaultCipher
from core.store.vector_index import VectorIndex
from models.embedder import Embedder
from models.llm import JsonLLM

Step = Callable[[RunContext], None]
STEPS: tuple[tuple[str, Step], ...] = (
    ("re-reading missed facts", reread.run),
    ("resolving contradictions", contradictions.run),
    ("merging duplicates", merge.run),
    ("summarising episodes", summarise.run),
    ("rewriting core memory", core_rewrite.run),
    ("deriving procedures", procedures.run),
    ("decaying unused memories", decay.run),
    ("compacting media", media.run),
)


def new_run_id() -> str:
    return f"c-{secrets.token_hex(4)}"


@dataclass
class Consolidator:
    ledger: Ledger
    index: VectorIndex
    embedder: Embedder
    cipher: VaultCipher
    load_llm: Callable[[], JsonLLM]
    count_tokens: Callable[[str], int]
    context_tokens: Callable[[], int]
    clock: Clock
    identity: Identity
    settings: ConsolidationSettings
    frames: FrameFiles
    media_budget_bytes: int

    def _size(self) -> tuple[int, int]:
        """Tokens of the active memory text and bytes of the store (ledger + media)."""
        text = "\n".join(m.text for m in self.ledger.list_memories())
        media_totals = self.ledger.media_totals()
        media_bytes = media_totals.bytes if media_totals else 0
        return (self.count_tokens(text) if text else 0), self.ledger.file_bytes() + media_bytes

    def run(self, dry_run: bool = False, progress: Progress = NULL_PROGRESS) -> ConsolidationReport:
        started = time.monotonic()
        run_id = new_run_id()
        report = ConsolidationReport(run_id, dry_run=dry_run)
        if not dry_run:
            self.ledger.checkpoint()
        report.tokens_before, report.bytes_before = self._size()
        last = self.ledger.last_consolidation()
        marks = self.ledger.marks()
        if not dry_run:
            with self.ledger.write(actor=ACTOR) as tx:
                tx.runs.start(run_id, *marks)
        ctx = RunContext(
            ledger=self.ledger,
            index=self.index,
            embedder=self.embedder,
            load_llm=self.load_llm,
            count_tokens=self.count_tokens,
            context_tokens=self.context_tokens,
            reconciler=Reconciler(
                self.ledger, self.index, self.embedder, self.cipher, reason_tag=run_tag(run_id)
            ),
            clock=self.clock,
            identity=self.identity,
            settings=self.settings,
            frames=self.frames,
            media_budget_bytes=self.media_budget_bytes,
            run_id=run_id,
            since_event=last.last_event_id if last else 0,
            since_history=last.last_history_id if last else 0,
            dry_run=dry_run,
            report=report,
            progress=progress,
        )
        try:
            for done, (label, step) in enumerate(STEPS):
                check_cancelled(progress)
                progress.update(done, len(STEPS), label)
                step(ctx)
                if not dry_run:
                    sync_index(self.ledger, self.index, self.embedder)
            progress.update(len(STEPS), len(STEPS), "consolidated")
        except BaseException:
            if not dry_run:
                report.seconds = time.monotonic() - started
                with self.ledger.write(actor=ACTOR) as tx:
                    tx.runs.finish(run_id, "failed", report.to_json())
            raise
        if dry_run:
            report.tokens_after, report.bytes_after = report.tokens_before, report.bytes_before
        else:
            self.ledger.checkpoint()  # the WAL folded in: bytes are the store's, not its log's
            report.tokens_after, report.bytes_after = self._size()
        report.seconds = time.monotonic() - started
        if not dry_run:
            with self.ledger.write(actor=ACTOR) as tx:
                tx.runs.finish(run_id, "done", report.to_json())
        return report


def touched_memories(ledger: Ledger, run_id: str) -> int:
    """How many memories a run changed (for status lines)."""
    return len({row.memory_id for row in ledger.history_tagged(ACTOR, run_tag(run_id))})


__all__ = ["STEPS", "Consolidator", "MemoryStatus", "touched_memories"]

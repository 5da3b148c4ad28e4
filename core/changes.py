"""What an operation changed, so that each view refreshes only what it shows (after Anki's
``OpChanges``).

A verb that writes says what it wrote: `Changes.of_ingest` reads an `IngestReport`,
`Answer.changes` covers what an ask recorded and touched, and the app declares the
obvious ones (a chat turn appended: ``Changes(events=True)``). The GUI's store executor
broadcasts them after each op; a view asks only the questions it cares about
(`touches_status`, ``memory_type in changes.memories``). Views never refresh by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.records import MemoryType

if TYPE_CHECKING:
    from core.ingest.pipeline import IngestReport

_WRITES = ("ADD", "UPDATE", "SUPERSEDE")  # reconcile ops that change a memory; NOOP does not


@dataclass(frozen=True)
class Changes:
    """Each flag names one part of the store a view may show."""

    memories: frozenset[MemoryType] = frozenset()  # memories of these types were written
    events: bool = False  # the event log: turns appended, events recorded
    batches: bool = False  # extraction batches made, done, retried or failed
    capture: bool = False  # capture started, paused, resumed or stopped

    def __or__(self, other: Changes) -> Changes:
        return Changes(
            self.memories | other.memories,
            self.events or other.events,
            self.batches or other.batches,
            self.capture or other.capture,
        )

    def __bool__(self) -> bool:
        return bool(self.memories) or self.events or self.batches or self.capture

    @property
    def touches_status(self) -> bool:
        """Whether the store's counts (what `Service.status` reports) may have moved."""
        return bool(self.memories) or self.events or self.batches

    @classmethod
    def everything(cls) -> Changes:
        """All parts: what a failed write reports, since it may have written part of its
        work before it stopped."""
        return cls(frozenset(MemoryType), events=True, batches=True, capture=True)

    @classmethod
    def of_memories(cls, types: frozenset[MemoryType] | set[MemoryType]) -> Changes:
        return cls(memories=frozenset(types))

    @classmethod
    def of_ingest(cls, report: IngestReport) -> Changes:
        """The types an ingest (or its record step) wrote, and whether it recorded events
        or moved batches. A vault entry also rewrites the raw episodic records that said
        its value (the value is masked there), so vault writes name episodic too."""
        types = {MemoryType(kind) for (op, kind), n in report.ops.items() if n and op in _WRITES}
        if MemoryType.VAULT in types:
            types.add(MemoryType.EPISODIC)
        moved_batches = bool(
            report.events or report.batches or report.retry_later or report.failed_batches
        )
        return cls(frozenset(types), events=report.events > 0, batches=moved_batches)


NO_CHANGES = Changes()
EVENTS_ADDED = Changes(events=True)
CAPTURE_CHANGED = Changes(capture=True)

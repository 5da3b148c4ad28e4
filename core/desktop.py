"""What the desktop app's views ask of the core, as plain records: a memory browse query
(filters and sort), a timeline frame, the plan of a time-range deletion, the figures of
the insights view (consolidation runs among them), a fact held for the user's
confirmation, and the ask log. The verbs that fill them are Service's (its
``desktop app`` section); the filtering and sorting here are pure, so they are tested
without a store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from core.errors import RememoraError
from core.records import Event, EventId, Memory, MemoryId, MemoryStatus, MemoryType

SORTS = ("relevance", "newest", "oldest", "strength", "importance")
ASK_SOURCE = "ask"  # the event source of recorded questions and answers


@dataclass(frozen=True)
class MemoryQuery:
    """One tab of the memories view: a type, an optional search text, filters, a sort."""

    memory_type: MemoryType
    text: str = ""
    since: datetime | None = None
    until: datetime | None = None
    sources: frozenset[str] = frozenset()  # event sources (chat, screen, replay, …); empty: any
    statuses: frozenset[MemoryStatus] = frozenset({MemoryStatus.ACTIVE})
    min_strength: float = 0.0
    sort: str = "relevance"  # one of SORTS; relevance is newest first when not searching
    limit: int = 500

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise RememoraError(f"unknown sort {self.sort!r}; allowed: {', '.join(SORTS)}")
        if self.since and self.until and self.since > self.until:
            raise RememoraError("the time filter ends before it starts")


def memory_time(memory: Memory) -> datetime:
    """When a memory happened (its event time), else when it was written."""
    return memory.event_time or memory.created_at


def is_pinned(memory: Memory) -> bool:
    return memory.fields.get("pinned") == "true"


def filter_and_sort(
    memories: Iterable[Memory],
    query: MemoryQuery,
    sources_of: dict[MemoryId, frozenset[str]] | None = None,
) -> list[Memory]:
    """Apply the query's filters (``sources_of``: each memory's event sources, needed only
    with a source filter) and its sort; pinned memories first in every sort but
    relevance of a search. The input order is the relevance order."""
    kept = [
        m
        for m in memories
        if m.type is query.memory_type
        and m.status in query.statuses
        and m.strength >= query.min_strength
        and (query.since is None or memory_time(m) >= query.since)
        and (query.until is None or memory_time(m) <= query.until)
        and (not query.sources or bool((sources_of or {}).get(m.id, frozenset()) & query.sources))
    ]
    if query.sort == "relevance" and query.text.strip():
        return kept[: query.limit]
    if query.sort in ("relevance", "newest"):
        kept.sort(key=memory_time, reverse=True)
    elif query.sort == "oldest":
        kept.sort(key=memory_time)
    elif query.sort == "strength":
        kept.sort(key=lambda m: m.strength, reverse=True)
    else:
        kept.sort(key=lambda m: m.importance, reverse=True)
    kept.sort(key=lambda m: not is_pinned(m))  # stable: pinned first, each in its order
    return kept[: query.limit]


@dataclass(frozen=True)
class Frame:
    """A captured screen as the timeline shows it: its event (OCR text, app, title, time)
    and the image, when it is still kept under the storage budget."""

    event: Event
    image: Path | None

    @property
    def app(self) -> str:
        return self.event.payload.get("app", "")

    @property
    def title(self) -> str:
        return self.event.payload.get("title", "")


@dataclass(frozen=True)
class RangeDeletion:
    """What deleting ``[start, end)`` removes (or removed): the events, the frames'
    images, and the memories made only from those events. Memories that also rest on
    events outside the range stay (their other sources still hold)."""

    start: datetime
    end: datetime
    events: tuple[EventId, ...]
    screen_events: int
    chat_events: int
    images: tuple[Path, ...]
    image_bytes: int
    memories: tuple[MemoryId, ...]  # derived only from the range: deleted
    kept_memories: int  # also derived from events outside it: kept

    def summary(self) -> str:
        return (
            f"{self.screen_events} screen frame(s) with their text, {len(self.images)} "
            f"image(s) ({self.image_bytes / 1e6:.1f} MB), {self.chat_events} chat turn(s) "
            f"or other event(s), and {len(self.memories)} memory(ies) made only from them"
            + (
                f"; {self.kept_memories} memory(ies) that also rest on other events stay"
                if self.kept_memories
                else ""
            )
        )


@dataclass(frozen=True)
class RunPoint:
    """One finished consolidation run as the insights view plots it: when it ended, the
    changes it made and the active memory's size in tokens before and after it."""

    run_id: str
    finished_at: datetime
    merged: int = 0
    summarised: int = 0
    superseded: int = 0
    archived: int = 0
    held: int = 0  # facts held for the user's confirmation
    tokens_before: int = 0
    tokens_after: int = 0

    @property
    def changes(self) -> int:
        """Memories the run merged, summarised, superseded or archived."""
        return self.merged + self.summarised + self.superseded + self.archived

    @classmethod
    def of_report(
        cls, run_id: str, finished_at: datetime, report: Mapping[str, object]
    ) -> RunPoint:
        """From a run's stored JSON report (`ConsolidationReport.to_json`); a count the
        report lacks (an older run's report) is 0."""

        def count(name: str) -> int:
            value = report.get(name, 0)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        return cls(
            run_id,
            finished_at,
            merged=count("merged"),
            summarised=count("summarised"),
            superseded=count("superseded"),
            archived=count("archived"),
            held=count("held"),
            tokens_before=count("tokens_before"),
            tokens_after=count("tokens_after"),
        )


@dataclass(frozen=True)
class Insights:
    """The insights view's figures."""

    memories_per_day: dict[MemoryType, list[tuple[date, int]]]
    frames_by_app: list[tuple[str, int]]  # most captured first
    frames_by_hour: list[int]  # 24 counts, local hours
    media_bytes: int
    budget_bytes: int
    oldest_frame: datetime | None
    newest_frame: datetime | None
    consolidation_runs: list[RunPoint] = field(default_factory=list)  # oldest first

    @property
    def days_of_history(self) -> float | None:
        """Days of capture the budget holds at the rate seen so far (None: too early)."""
        if not self.media_bytes or self.oldest_frame is None or self.newest_frame is None:
            return None
        span = (self.newest_frame - self.oldest_frame).total_seconds() / 86400
        if span < 1 / 24:
            return None
        return self.budget_bytes / (self.media_bytes / span)


def is_held(memory: Memory) -> bool:
    """Whether consolidation holds this fact for the user's confirmation (a new source
    against established ones: core/consolidate/contradictions.py)."""
    return memory.fields.get("needs_confirmation") == "true"


def contradicted_ids(memory: Memory) -> tuple[MemoryId, ...]:
    """The facts a held fact disagrees with, as consolidation named them."""
    return tuple(MemoryId(i) for i in memory.fields.get("contradicts", "").split(",") if i)


@dataclass(frozen=True)
class HeldFact:
    """A fact held for confirmation and the established facts it contradicts (those
    still active). Confirming it supersedes them; rejecting it deletes it."""

    fact: Memory
    contradicts: tuple[Memory, ...]


@dataclass(frozen=True)
class AskTurn:
    """A past question and its answer, as recorded in the event log."""

    question: Event
    answer: Event | None

    @property
    def cited(self) -> tuple[MemoryId, ...]:
        if self.answer is None:
            return ()
        raw = self.answer.payload.get("cited", "")
        return tuple(MemoryId(i) for i in raw.split(",") if i)


def pair_ask_turns(events: Sequence[Event]) -> list[AskTurn]:
    """Questions with their answers (an answer names its question's event id), newest
    first."""
    answers = {e.payload.get("question"): e for e in events if e.payload.get("role") == "answer"}
    turns = [
        AskTurn(e, answers.get(str(e.id))) for e in events if e.payload.get("role") == "question"
    ]
    return sorted(turns, key=lambda t: t.question.occurred_at, reverse=True)

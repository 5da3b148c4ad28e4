"""Step: roll episodic records into session summaries and day summaries.

A session is the records sharing a ``session`` field (an import's), else a stretch of
records with no pause longer than ``session_gap_minutes``. Sessions with a record newer
than the run's high-water mark, and at least ``min_session_episodes`` records, get a
summary written by the model (one grammar-constrained call at consolidation priority);
a day with several sessions gets a summary of its session summaries. A summary is an episodic memory with ``kind=summary``,
``level`` (session or day), ``children`` (the records' ids, JSON), ``start``/``end`` (its
own time span) and the union of its children's sources, so search finds it like any
other memory. A day with one session gets only the day summary (the same text twice
would take two places in every search). A newer summary of the same session or day
supersedes the older one. A record the user marked private is left out of every summary
(a summary is found by any question; a private memory only by one that names it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from string import Template

import assets
from core.consolidate.context import ACTOR, RunContext, clean_generated
from core.ingest.batch_extraction import build_messages
from core.progress import check_cancelled
from core.records import (
    Event,
    EventId,
    EventKind,
    EventStatus,
    Memory,
    MemoryType,
    NewMemory,
    to_iso,
)
from core.retrieval.private import is_private

MAX_LINES = 40
MAX_LINE_CHARS = 300
PROMPT_CHARS = 3000  # about 800 tokens of events: room for the prompt in a 2048 context
SUMMARY_CHARS = 500


def summary_schema() -> dict[str, object]:
    return {
        "type": "object",
        "required": ["summary"],
        "properties": {"summary": {"type": "string", "minLength": 1, "maxLength": SUMMARY_CHARS}},
    }


def is_summary(memory: Memory) -> bool:
    return memory.fields.get("kind") == "summary"


@dataclass(frozen=True)
class Session:
    key: str
    records: tuple[Memory, ...]

    @property
    def start(self) -> datetime:
        return _when(self.records[0])

    @property
    def end(self) -> datetime:
        return _when(self.records[-1])


def _when(memory: Memory) -> datetime:
    return memory.event_time or memory.created_at


def sessions(records: Sequence[Memory], gap_minutes: float) -> list[Session]:
    """Raw records grouped into sessions, each in time order, oldest session first."""
    keyed: dict[str, list[Memory]] = {}
    loose = sorted((m for m in records if "session" not in m.fields), key=_when)
    for memory in records:
        if "session" in memory.fields:
            keyed.setdefault(f"session:{memory.fields['session']}", []).append(memory)
    run: list[Memory] = []
    for memory in loose:
        if run and _when(memory) - _when(run[-1]) > timedelta(minutes=gap_minutes):
            keyed[f"span:{to_iso(_when(run[0]))}"] = run
            run = []
        run.append(memory)
    if run:
        keyed[f"span:{to_iso(_when(run[0]))}"] = run
    found = [Session(k, tuple(sorted(v, key=_when))) for k, v in keyed.items()]
    return sorted(found, key=lambda s: (s.start, s.key))


def _pseudo_event(number: int, text: str, at: datetime, speaker: str) -> Event:
    return Event(
        EventId(number), EventKind.CHAT, text, at, speaker, "memory", {}, EventStatus.PROCESSED, 0
    )


def _summarise(ctx: RunContext, level: str, events: Sequence[Event]) -> str | None:
    task = Template(assets.read_text("prompts/consolidate_summary.txt")).substitute(level=level)
    kept = list(events[:MAX_LINES])
    messages = build_messages(task.strip(), kept, ctx.clock())
    while not ctx.fits(messages, ctx.settings.summary_max_tokens):
        if len(kept) == 1:
            return None  # one line too long for the context: nothing to summarise it by
        kept.pop()  # the session's start is kept: what it was about
        messages = build_messages(task.strip(), kept, ctx.clock())
    answer = ctx.ask_json(messages, summary_schema(), ctx.settings.summary_max_tokens)
    text = clean_generated(str((answer or {}).get("summary", "")))
    return text or None


def _session_events(ctx: RunContext, session: Session) -> list[Event]:
    """The session's events, each cut to MAX_LINE_CHARS, as many as PROMPT_CHARS hold
    (the prompt must fit a small model's context; :func:`_summarise` checks it in
    tokens)."""
    ids = [i for m in session.records for i in m.source_event_ids]
    kept: list[Event] = []
    room = PROMPT_CHARS
    for event in ctx.ledger.events(ids) if ids else []:
        text = event.text[:MAX_LINE_CHARS]
        if room - len(text) < 0 or len(kept) == MAX_LINES:
            break
        room -= len(text)
        kept.append(replace(event, text=text))
    return kept


def _summary_memory(
    level: str, label: str, text: str, records: Sequence[Memory], extra: dict[str, str]
) -> NewMemory:
    sources = list(dict.fromkeys(i for m in records for i in m.source_event_ids))
    start, end = _when(records[0]), _when(records[-1])
    return NewMemory(
        MemoryType.EPISODIC,
        f"{label} {start.astimezone():%Y-%m-%d}: {text}",
        start,
        tuple(sources),
        {
            "kind": "summary",
            "level": level,
            "actor": "summary",
            "event_type": f"{level}_summary",
            "children": json.dumps([m.id for m in records]),
            "start": to_iso(start),
            "end": to_iso(end),
            **extra,
        },
        importance=0.6,
    )


def _existing(memories: Sequence[Memory], level: str, name: str, value: str) -> Memory | None:
    for memory in memories:
        if memory.fields.get("level") == level and memory.fields.get(name) == value:
            return memory
    return None


def _day(memory: Memory) -> str:
    return f"{_when(memory).astimezone().date()}"


def run(ctx: RunContext) -> None:
    episodic = ctx.ledger.list_memories(MemoryType.EPISODIC)
    summaries = [m for m in episodic if is_summary(m)]
    records = {m.id: m for m in episodic if not is_summary(m) and not is_private(m)}
    due = [
        s
        for s in sessions(list(records.values()), ctx.settings.session_gap_minutes)
        if len(s.records) >= ctx.settings.min_session_episodes
        and any(i > ctx.since_event for m in s.records for i in m.source_event_ids)
    ]
    # each day's sessions: (key, text, records); the due ones summarised now
    by_day: dict[str, list[tuple[str, str, Sequence[Memory]]]] = {}
    for done, session in enumerate(due, start=1):
        ctx.progress.update(done - 1, len(due), "summarising sessions")
        check_cancelled(ctx.progress)
        if ctx.dry_run:  # says what it would summarise; the model writes only in a real run
            text: str | None = f"({len(session.records)} records to summarise)"
        else:
            text = _summarise(ctx, "conversation or activity", _session_events(ctx, session))
        if text is not None:
            by_day.setdefault(_day(session.records[0]), []).append(
                (session.key, text, session.records)
            )
    fresh = {key for parts in by_day.values() for key, _t, _r in parts}
    for m in summaries:
        key = m.fields.get("session_key", "")
        if m.fields.get("level") == "session" and key not in fresh and _day(m) in by_day:
            children = [records[i] for i in json.loads(m.fields["children"]) if i in records]
            if children:
                by_day[_day(m)].append((key, m.text.split(": ", 1)[-1], children))
    planned: list[tuple[NewMemory, Memory | None]] = []
    for day, parts in sorted(by_day.items()):
        parts.sort(key=lambda p: _when(p[2][0]))
        children = sorted({r.id: r for _k, _t, rs in parts for r in rs}.values(), key=_when)
        old_day = _existing(summaries, "day", "day", day)
        if len(parts) == 1:  # one session that day: its summary is the day's
            key, text, _records = parts[0]
            extra = {"day": day, "session_key": key}
            planned.append((_summary_memory("day", "Day", text, children, extra), old_day))
            continue
        for key, text, session_records in parts:
            if key in fresh:
                new = _summary_memory(
                    "session", "Session on", text, session_records, {"session_key": key}
                )
                planned.append((new, _existing(summaries, "session", "session_key", key)))
        events = [
            _pseudo_event(n, text, _when(rs[0]), "summary")
            for n, (_k, text, rs) in enumerate(parts, 1)
        ]
        summarised = (
            f"({len(parts)} session summaries to summarise)"
            if ctx.dry_run
            else _summarise(ctx, "day, given as summaries of its sessions", events)
        )
        if summarised is not None:
            new = _summary_memory("day", "Day", summarised, children, {"day": day})
            planned.append((new, old_day))
    ctx.report.summarised += _write(ctx, planned)


def _write(ctx: RunContext, planned: Sequence[tuple[NewMemory, Memory | None]]) -> int:
    for new, old in planned:
        verb = f"replace {old.id} with" if old else "add"
        ctx.note(f"{verb} {new.fields['level']} summary: {new.text[:100]!r}")
    if ctx.dry_run or not planned:
        return len(planned)
    with ctx.ledger.write(actor=ACTOR) as tx:
        for new, old in planned:
            children = len(json.loads(new.fields["children"]))
            reason = ctx.reason(f"{new.fields['level']} summary of {children} records")
            if old is not None and tx.memories.get(old.id).status.value == "active":
                tx.memories.supersede(old, new, reason)
            else:
                tx.memories.add(new, reason)
    return len(planned)

"""Step: roll episodic records into session summaries and day summaries.

A session is the records sharing a ``session`` field (an import's), else a stretch of
records with no pause longer than ``session_gap_minutes``. Sessions with a record newer
than the run's high-water mark, and at least ``min_session_episodes`` records, get a
summary written by the model (one grammar-constrained call at consolidation priority);
a day with several sessions gets a summary of its session summaries, a day with one
reuses that session's. A summary is an episodic memory with ``kind=summary``,
``level`` (session or day), ``children`` (the records' ids, JSON), ``start``/``end`` (its
own time span) and the union of its children's sources, so search finds it like any
other memory. A newer summary of the same session or day supersedes the older one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from string import Template

import assets
from core.consolidate.context import ACTOR, RunContext
from core.ingest.batch_extraction import build_messages
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

MAX_LINES = 40
MAX_LINE_CHARS = 300
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
    messages = build_messages(task.strip(), events[:MAX_LINES], ctx.clock())
    answer = ctx.ask_json(messages, summary_schema(), ctx.settings.summary_max_tokens)
    text = " ".join(str((answer or {}).get("summary", "")).split())
    return text or None


def _session_events(ctx: RunContext, session: Session) -> list[Event]:
    ids = [i for m in session.records for i in m.source_event_ids]
    events = ctx.ledger.events(ids) if ids else []
    return [replace(e, text=e.text[:MAX_LINE_CHARS]) for e in events]


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


def run(ctx: RunContext) -> None:
    episodic = ctx.ledger.list_memories(MemoryType.EPISODIC)
    summaries = [m for m in episodic if is_summary(m)]
    records = [m for m in episodic if not is_summary(m)]
    found = sessions(records, ctx.settings.session_gap_minutes)
    due = [
        s
        for s in found
        if len(s.records) >= ctx.settings.min_session_episodes
        and any(i > ctx.since_event for m in s.records for i in m.source_event_ids)
    ]
    planned: list[tuple[NewMemory, Memory | None]] = []
    for done, session in enumerate(due, start=1):
        ctx.progress.update(done - 1, len(due), "summarising sessions")
        text = _summarise(ctx, "conversation or activity", _session_events(ctx, session))
        if text is None:
            continue
        new = _summary_memory("session", "Session on", text, session.records, {"session_key": session.key})
        planned.append((new, _existing(summaries, "session", "session_key", session.key)))
    written = _write(ctx, planned, "session summary of {n} records")
    # days: each day touched by a due session, from its session summaries
    days = sorted({r.event_time.astimezone().date() for s in due for r in s.records if r.event_time})
    by_day: dict[str, list[tuple[str, Sequence[Memory]]]] = {}
    current = [
        (m.text, [r for r in records if r.id in json.loads(m.fields.get("children", "[]"))])
        for m in summaries
        if m.fields.get("level") == "session"
        and m.fields.get("session_key") not in {n.fields["session_key"] for n, _o in planned}
    ] + [(n.text, [r for s in due if s.key == n.fields["session_key"] for r in s.records]) for n, _o in planned]
    for text, children in current:
        if children and children[0].event_time is not None:
            by_day.setdefault(f"{children[0].event_time.astimezone().date()}", []).append((text, children))
    planned_days: list[tuple[NewMemory, Memory | None]] = []
    for day in days:
        parts = sorted(by_day.get(f"{day}", []), key=lambda p: _when(p[1][0]))
        if not parts:
            continue
        children = sorted({r.id: r for _t, rs in parts for r in rs}.values(), key=_when)
        if len(parts) == 1:
            text = parts[0][0].split(": ", 1)[-1]
        else:
            events = [
                _pseudo_event(n, t, _when(rs[0]), "summary") for n, (t, rs) in enumerate(parts, 1)
            ]
            summarised = _summarise(ctx, "day, given as summaries of its sessions", events)
            if summarised is None:
                continue
            text = summarised
        new = _summary_memory("day", "Day", text, children, {"day": f"{day}"})
        planned_days.append((new, _existing(summaries, "day", "day", f"{day}")))
    written += _write(ctx, planned_days, "day summary of {n} records")
    ctx.report.summarised += written


def _write(ctx: RunContext, planned: Sequence[tuple[NewMemory, Memory | None]], why: str) -> int:
    for new, old in planned:
        verb = f"replace {old.id} with" if old else "add"
        ctx.note(f"{verb} {new.fields['level']} summary: {new.text[:100]!r}")
    if ctx.dry_run or not planned:
        return len(planned)
    with ctx.ledger.write(actor=ACTOR) as tx:
        for new, old in planned:
            reason = ctx.reason(why.format(n=len(json.loads(new.fields["children"]))))
            if old is not None and tx.memories.get(old.id).status.value == "active":
                tx.memories.supersede(old, new, reason)
            else:
                tx.memories.add(new, reason)
    return len(planned)

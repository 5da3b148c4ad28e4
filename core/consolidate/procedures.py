"""Step: derive procedural memories from workflows seen more than once.

A workflow is the order in which the user moved through applications on screen: the
screen events of the last ``WINDOW_DAYS`` days are cut into sessions at pauses longer
than ``session_gap_minutes``, repeats of one application in a row collapse, and every run
of ``LENGTH`` different applications is a candidate. One seen in at least two sessions
becomes a procedure (title, trigger, numbered steps with the window titles seen), unless
the same workflow is already known; its sources are the events each step was seen in,
in every session. A window title is text on screen: one that reads as an instruction to
the assistant (core.ingest.injection) is left out of the steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from core.consolidate.context import ACTOR, RunContext
from core.ingest.injection import reads_as_instructions
from core.ingest.type_extractors import normalize
from core.records import Event, EventId, EventKind, MemoryType, NewMemory

WINDOW_DAYS = 30
LENGTH = 3
MIN_SESSIONS = 2


def _sessions(events: Sequence[Event], gap_minutes: float) -> list[list[Event]]:
    out: list[list[Event]] = []
    for event in events:
        if out and event.occurred_at - out[-1][-1].occurred_at <= timedelta(minutes=gap_minutes):
            out[-1].append(event)
        else:
            out.append([event])
    return out


def _steps(session: Sequence[Event]) -> list[tuple[str, str, EventId]]:
    """(app, a window title, event) per stretch of one application, in order."""
    steps: list[tuple[str, str, EventId]] = []
    for event in session:
        app = event.payload.get("app", "").strip()
        if app and (not steps or steps[-1][0] != app):
            title = event.payload.get("title", "").strip()
            steps.append((app, "" if reads_as_instructions(title) else title, event.id))
    return steps


def workflows(
    events: Sequence[Event], gap_minutes: float
) -> dict[tuple[str, ...], list[list[tuple[str, str, EventId]]]]:
    """Each run of LENGTH different applications and the sessions it was seen in."""
    seen: dict[tuple[str, ...], list[list[tuple[str, str, EventId]]]] = {}
    for session in _sessions(sorted(events, key=lambda e: e.occurred_at), gap_minutes):
        steps = _steps(session)
        found: set[tuple[str, ...]] = set()
        for start in range(len(steps) - LENGTH + 1):
            window = steps[start : start + LENGTH]
            apps = tuple(s[0] for s in window)
            if len(set(apps)) == LENGTH and apps not in found:
                found.add(apps)
                seen.setdefault(apps, []).append(window)
    return {apps: runs for apps, runs in seen.items() if len(runs) >= MIN_SESSIONS}


def _memory(apps: tuple[str, ...], runs: list[list[tuple[str, str, EventId]]]) -> NewMemory:
    title = "Workflow: " + " then ".join(apps)
    lines = []
    for i, app in enumerate(apps):
        titles = list(dict.fromkeys(r[i][1] for r in runs if r[i][1]))[:2]
        lines.append(f"{i + 1}. {app}" + (f" ({'; '.join(titles)})" if titles else ""))
    numbered = "\n".join(lines)
    sources = tuple(dict.fromkeys(step[2] for run in runs for step in run))
    return NewMemory(
        MemoryType.PROCEDURAL,
        f"{title} (seen {len(runs)} times):\n{numbered}",
        None,
        sources,
        {
            "title": title,
            "trigger": f"opening {apps[0]}",
            "steps": numbered,
            "key": normalize(title),
            "derived": "workflow",
        },
    )


def run(ctx: RunContext) -> None:
    since = ctx.clock() - timedelta(days=WINDOW_DAYS)
    events = [e for e in ctx.ledger.events_since(since) if e.kind is EventKind.SCREEN]
    if not any(e.id > ctx.since_event for e in events):
        return
    known = {m.fields.get("key") for m in ctx.ledger.list_memories(MemoryType.PROCEDURAL)}
    planned = [
        _memory(apps, runs)
        for apps, runs in workflows(events, ctx.settings.session_gap_minutes).items()
        if normalize("Workflow: " + " then ".join(apps)) not in known
    ]
    ctx.report.derived += len(planned)
    for new in planned:
        ctx.note(f"derive procedure: {new.fields['title']!r}")
    if ctx.dry_run or not planned:
        return
    with ctx.ledger.write(actor=ACTOR) as tx:
        for new in planned:
            if not tx.memories.find_active_by_field(
                MemoryType.PROCEDURAL, "key", new.fields["key"]
            ):
                tx.memories.add(new, ctx.reason("workflow seen in more than one session"))

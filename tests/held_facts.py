"""Facts for the tests of held facts and consolidation runs, written on a real store the
way the write path and consolidation write them: a fact as the extractor adds it, a
fact held as consolidation's contradiction step holds it (core/consolidate/
contradictions.py; tests/test_consolidation.py holds one through a real run), and a
finished run's row with its real report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.consolidate.report import ConsolidationReport
from core.ingest.type_extractors import normalize
from core.records import EventKind, Memory, MemoryType, NewEvent, NewMemory
from core.service import Service

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def fact(
    service: Service,
    statement: str,
    attribute: str,
    value: str,
    at: datetime = T0,
    said_times: int = 1,
    subject: str = "Priya",
) -> Memory:
    """A fact from ``said_times`` turns of Priya's (an hour apart), as extracted."""
    ids = service.add_events(
        [
            NewEvent(EventKind.CHAT, statement, at + timedelta(hours=i), "Priya", "chat")
            for i in range(said_times)
        ]
    )
    with service.store.write(actor="extractor") as tx:
        return tx.memories.add(
            NewMemory(
                MemoryType.SEMANTIC,
                statement,
                at,
                tuple(ids),
                {
                    "subject": subject,
                    "attribute": attribute,
                    "value": value,
                    "key": f"{normalize(subject)}|{normalize(attribute)}",
                },
            ),
            "extracted",
        )


def hold(service: Service, newer: Memory, against: list[Memory], named: bool = True) -> Memory:
    """Hold ``newer`` for confirmation as consolidation does; ``named``: with the ids of
    the facts it contradicts (a fact held before they were recorded has none)."""
    fields = {"needs_confirmation": "true"}
    if named:
        fields["contradicts"] = ",".join(m.id for m in against)
    with service.store.write(actor="consolidator") as tx:
        return tx.memories.update(
            tx.memories.get(newer.id), newer.text, fields, (), "held for confirmation"
        )


def finished_run(
    service: Service, run_id: str, report: ConsolidationReport, status: str = "done"
) -> None:
    """A consolidation run's row, started and finished with ``report`` (then marked
    ``status``, as an undo marks a run ``undone``)."""
    marks = service.store.marks()
    with service.store.write(actor="consolidator") as tx:
        tx.runs.start(run_id, *marks)
        tx.runs.finish(run_id, "failed" if status == "failed" else "done", report.to_json())
        if status not in ("done", "failed"):
            tx.runs.set_status(run_id, status)

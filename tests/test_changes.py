"""What verbs report as changed: `Changes` from a real ingest report and a real ask, and
the `Answer`'s own memory records (real store, real embedder, the real tiny model)."""

from __future__ import annotations

from collections import Counter

import pytest

from core.changes import CAPTURE_CHANGED, EVENTS_ADDED, NO_CHANGES, Changes
from core.ingest.pipeline import IngestReport
from core.records import MemoryType
from core.service import Service


def test_changes_union_and_truth() -> None:
    assert not NO_CHANGES and not NO_CHANGES.touches_status
    assert EVENTS_ADDED.touches_status and not CAPTURE_CHANGED.touches_status
    both = EVENTS_ADDED | CAPTURE_CHANGED | Changes.of_memories({MemoryType.SEMANTIC})
    assert both == Changes(frozenset({MemoryType.SEMANTIC}), events=True, capture=True)
    assert Changes.everything().memories == frozenset(MemoryType)


def test_ingest_report_names_what_it_wrote_not_what_it_left() -> None:
    report = IngestReport(batches=1)
    report.ops = Counter({("ADD", "semantic"): 2, ("NOOP", "procedural"): 1, ("ADD", "vault"): 1})
    changes = Changes.of_ingest(report)
    # a vault entry masks its value in the episodic records that said it
    assert changes.memories == {MemoryType.SEMANTIC, MemoryType.VAULT, MemoryType.EPISODIC}
    assert changes.batches and not changes.events
    assert Changes.of_ingest(IngestReport()) == NO_CHANGES


def test_recording_a_turn_reports_events_batches_and_episodic(service: Service) -> None:
    service.add_chat_turn("user", "My sister Ana lives in Porto.")
    changes = Changes.of_ingest(service.record_events())
    assert changes == Changes(frozenset({MemoryType.EPISODIC}), events=True, batches=True)
    assert Changes.of_ingest(service.record_events()) == NO_CHANGES  # nothing pending


@pytest.mark.llm
def test_answer_carries_its_memories_and_what_asking_changed(service: Service) -> None:
    service.add_chat_turn("user", "I left my umbrella at the Rialto cafe.")
    result = service.ask("Where is my umbrella?", on_token=lambda _piece: None)
    assert result.used_llm and result.sources
    assert tuple(m.id for m in result.memories) == result.sources
    stored = {m.id: m for m in service.memories(list(result.sources))}
    assert all(stored[m.id].text == m.text for m in result.memories)
    assert any("Rialto cafe" in m.text for m in result.memories)
    # the ask recorded the pending turn first, and counted an access to its sources
    assert result.changes.events and MemoryType.EPISODIC in result.changes.memories
    assert all(stored[m.id].access_count == m.access_count + 1 for m in result.memories)


def test_nothing_relevant_carries_no_memories(service: Service) -> None:
    result = service.ask("What did I eat on my birthday?", on_token=lambda _piece: None)
    assert not result.used_llm and result.memories == () and result.sources == ()
    assert result.changes == NO_CHANGES

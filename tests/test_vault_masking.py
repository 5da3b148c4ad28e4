"""A vault value the model rewrites ("12 Oak St." filed in the vault, "12 oak street" in
an episode) is masked too, before the memory text reaches the ledger or Chroma: values
and texts are compared in a normal form (core/ingest/vault_masking.py). The write path
is the real one (reconcile, ledger, Chroma); the candidates stand for what a model might
write, so the test does not depend on the tiny model's wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ingest.batch_extraction import BatchExtraction, pattern_vault_candidates
from core.ingest.pipeline import IngestReport, apply_extraction
from core.ingest.reconcile import Reconciler
from core.ingest.type_extractors import Candidate
from core.ingest.vault_masking import find_variants, holds_value, mask_values, normal_form
from core.records import MemoryType
from core.service import Service
from core.store.vault import MASK
from tests.archive_helpers import T0


@pytest.mark.parametrize(
    "value,text",
    [
        ("12 Oak St.", "She moved to 12 oak street last year."),
        ("12 Oak Street", "Her place: 12 OAK ST, second floor."),
        ("4 Elm Ave, Apt 3", "at 4 elm avenue apartment 3 tonight"),
        ("DE44 5001 0517 5407 3249 31", "IBAN de44500105175407324931 on file"),
        ("1234 5678 9012 3456", "card 1234-5678-9012-3456 expired"),
        ("4821", "the door code is 48 21, do not forget"),
        ("tr0ub4dor&3", "wifi password: TR0UB4DOR 3"),
    ],
)
def test_reworded_values_are_found_and_masked(value: str, text: str) -> None:
    assert holds_value(text, [value])
    masked = mask_values(text, [value])
    assert MASK in masked and not holds_value(masked, [value])
    assert normal_form(value) not in normal_form(masked)


def test_matches_stay_on_word_boundaries_and_short_values_verbatim() -> None:
    assert find_variants("she lives at 112 Oak Street", "12 Oak St.") == []
    assert find_variants("room 12 and 14", "12") == ["12"]  # verbatim only
    assert find_variants("12 rooms", "1 2") == []  # too short to match reworded
    text = "Visit 12 Oak St. and then 12 oak street again"
    assert mask_values(text, ["12 Oak St."]) == f"Visit {MASK} and then {MASK} again"


def _semantic(text: str, value: str, event_ids: tuple[int, ...]) -> Candidate:
    from core.records import EventId

    return Candidate(
        MemoryType.SEMANTIC,
        text,
        "alice|home",
        tuple(EventId(i) for i in event_ids),
        T0,
        {"subject": "Alice", "attribute": "home", "value": value},
        "medium",
        "",
        "extractor",
    )


def _chroma_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (folder / "chroma").rglob("*") if p.is_file())


def test_a_reworded_address_never_reaches_the_ledger_or_chroma(service: Service) -> None:
    service.add_chat_turn("Alice", "I live at 12 Oak St. since May.", T0)
    service.record_events()
    [batch] = service.store.pending_batches()
    events = service.events(list(batch.event_ids))
    # the address went to the vault as the event was recorded (the write path files
    # sensitive values before the raw record holds them), so the event is masked already
    filed = [service.vault_value(m.id) for m in service.list_memories(MemoryType.VAULT)]
    assert filed == ["12 Oak St"] and MASK in events[0].text
    vault = pattern_vault_candidates(events)
    assert vault == []
    reworded = _semantic("Alice lives at 12 oak street.", "12 OAK STREET", batch.event_ids)
    reconciler = Reconciler(
        service.store, service.runtime.index, service.runtime.embedder, service.runtime.cipher
    )
    apply_extraction(
        service.store,
        reconciler,
        batch.id,
        BatchExtraction((), (MemoryType.VAULT,), (*vault, reworded)),
        IngestReport(),
    )
    service.record_events()  # index what the write made
    [fact] = service.list_memories(MemoryType.SEMANTIC)
    assert MASK in fact.text and fact.fields["value"] == MASK
    for memory in service.list_memories(include_inactive=True):
        if memory.type is not MemoryType.VAULT:
            assert not holds_value(memory.text, ["12 Oak St"]), memory.text
    assert b"oak street" not in _chroma_bytes(service.data_dir).lower()
    assert b"oak st" not in _chroma_bytes(service.data_dir).lower()

    # a later batch: the value is already in the vault, and still masked when reworded
    service.add_chat_turn("Alice", "Parcel goes to my place.", T0)
    service.record_events()
    [later] = service.store.pending_batches()
    again = _semantic("Deliveries: 12, Oak Street.", "12 Oak Street", later.event_ids)
    apply_extraction(
        service.store,
        reconciler,
        later.id,
        BatchExtraction((), (MemoryType.SEMANTIC,), (again,)),
        IngestReport(),
    )
    texts = [m.text for m in service.list_memories(MemoryType.SEMANTIC, include_inactive=True)]
    assert texts and all(not holds_value(t, ["12 Oak St"]) for t in texts), texts

    # a new turn spelling the vault's value another way: masked in the event and its raw
    # record before either reaches the ledger's memories or Chroma
    service.add_chat_turn("Alice", "Tell the courier: 12 OAK STREET, ring twice.", T0)
    service.record_events()
    [raw] = [m for m in service.list_memories(MemoryType.EPISODIC) if "courier" in m.text]
    assert MASK in raw.text and "OAK" not in raw.text
    [event] = service.events(list(raw.source_event_ids))
    assert MASK in event.text and "OAK" not in event.text
    assert b"oak street" not in _chroma_bytes(service.data_dir).lower()


def test_the_mask_of_a_filed_value_is_never_filed_as_a_value() -> None:
    """An event whose value went to the vault reads "... is [in vault]"; the patterns
    must not take the mask's first word for a new value (it would supersede the real one)."""
    from datetime import UTC, datetime

    from core.ingest.batch_extraction import pattern_vault_candidates
    from core.records import Event, EventId, EventKind, EventStatus
    from core.store.vault import MASK

    event = Event(
        EventId(1),
        EventKind.CHAT,
        f"The password for the shed is {MASK}.",
        datetime(2026, 1, 5, tzinfo=UTC),
        "user",
        "chat",
        {},
        EventStatus.PROCESSED,
        0,
    )
    assert pattern_vault_candidates([event]) == []
    plain = Event(**{**event.__dict__, "text": "The password for the shed is tulip-4411."})
    assert [c.secret for c in pattern_vault_candidates([plain])] == ["tulip-4411"]

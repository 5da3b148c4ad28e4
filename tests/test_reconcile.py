"""Reconcile decisions given candidates, on the real ledger, Chroma and embedder (no LLM):
ADD, NOOP for repeats, SUPERSEDE for a changed fact, UPDATE for procedures and core
blocks, every change in history; vault values encrypted, labels only embedded."""

from __future__ import annotations

import json
import os
import stat
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from core.ingest.batch_extraction import BatchExtraction
from core.ingest.pipeline import IngestReport, apply_extraction, process_pending
from core.ingest.reconcile import Op, Reconciler, decide, fit_block
from core.ingest.type_extractors import Candidate
from core.records import EventId, MemoryStatus, MemoryType
from core.service import Service
from tests.conftest import run_cli

T0 = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)


def _fact(event: EventId, subject: str, attribute: str, value: str, statement: str) -> Candidate:
    return Candidate(
        MemoryType.SEMANTIC,
        statement,
        f"{subject.lower()}|{attribute}",
        (event,),
        T0,
        {"subject": subject, "attribute": attribute, "value": value},
    )


def _apply(service: Service, text: str, *candidates: Candidate) -> Counter[tuple[str, str]]:
    """Record one chat turn (its batch), then reconcile ``candidates`` as that batch's."""
    event = service.add_chat_turn("Alice", text, T0)
    # recorded without the vault's cipher: the value must reach reconcile in clear here
    # (recording with it takes vault values out first; tests/test_write_path.py covers that)
    process_pending(service.store, service.runtime.index, service.runtime.embedder)
    batch = service.store.pending_batches()[-1]
    assert batch.event_ids == (event,)
    reconciler = Reconciler(
        service.store, service.runtime.index, service.runtime.embedder, service.runtime.cipher
    )
    report = IngestReport()
    cands = [
        Candidate(
            c.type,
            c.text,
            c.key,
            (event,),
            c.event_time,
            c.fields,
            c.sensitivity,
            c.secret,
            c.actor,
        )
        for c in candidates
    ]
    apply_extraction(
        service.store,
        reconciler,
        batch.id,
        BatchExtraction((MemoryType.SEMANTIC,), (), tuple(cands)),
        report,
    )
    return report.ops


def test_fact_added_repeat_is_noop_change_supersedes(service: Service) -> None:
    first = _fact(EventId(0), "Alice", "city", "Lisbon", "Alice lives in Lisbon.")
    assert _apply(service, "I live in Lisbon.", first) == {("ADD", "semantic"): 1}
    facts = service.list_memories(MemoryType.SEMANTIC)
    assert [m.text for m in facts] == ["Alice lives in Lisbon."]
    old = facts[0]

    ops = _apply(
        service,
        "Did I say I live in Lisbon?",
        _fact(EventId(0), "Alice", "city", "Lisbon", "Alice lives in Lisbon."),
    )
    assert ops == {("NOOP", "semantic"): 1}
    assert service.list_memories(MemoryType.SEMANTIC) == [service.get(old.id)]

    ops = _apply(
        service,
        "I moved to Porto.",
        _fact(EventId(0), "Alice", "city", "Porto", "Alice lives in Porto."),
    )
    assert ops == {("SUPERSEDE", "semantic"): 1}
    active = service.list_memories(MemoryType.SEMANTIC)
    assert [m.text for m in active] == ["Alice lives in Porto."]
    retired = service.get(old.id)
    assert retired.status is MemoryStatus.SUPERSEDED and retired.successor_id == active[0].id
    assert [h.op for h in service.history(old.id)] == ["ADD", "SUPERSEDE"]
    supersede = service.history(old.id)[-1]
    assert supersede.before and supersede.before["status"] == "active"
    assert supersede.after and supersede.after["successor_id"] == active[0].id
    assert "Lisbon" in supersede.reason and "Porto" in supersede.reason
    assert [h.op for h in service.history(active[0].id)] == ["ADD"]
    every = service.list_memories(MemoryType.SEMANTIC, include_inactive=True)
    assert {(m.text, m.status) for m in every} == {
        ("Alice lives in Lisbon.", MemoryStatus.SUPERSEDED),
        ("Alice lives in Porto.", MemoryStatus.ACTIVE),
    }
    # the superseded one is no longer found by search
    assert all(hit.memory.id != old.id for hit in service.search("Where does Alice live? Lisbon"))


def test_near_duplicate_without_key_is_noop(service: Service) -> None:
    text = "The office Wi-Fi network is called Hermes-5G."
    one = Candidate(MemoryType.SEMANTIC, text, "", (EventId(0),), T0, {})
    assert _apply(service, "wifi?", one)[("ADD", "semantic")] == 1
    again = Candidate(
        MemoryType.SEMANTIC,
        "The office Wi-Fi network is called Hermes-5G",
        "",
        (EventId(0),),
        T0,
        {},
    )
    assert _apply(service, "wifi again", again) == {("NOOP", "semantic"): 1}


def test_procedure_becomes_procedural_and_merges_by_title(service: Service) -> None:
    steps = "Deploy:\n1. run make build\n2. push the image"
    proc = Candidate(
        MemoryType.PROCEDURAL,
        steps,
        "deploy",
        (EventId(0),),
        T0,
        {"title": "Deploy", "trigger": "", "steps": "1. run make build\n2. push the image"},
    )
    assert _apply(service, "how to deploy", proc)[("ADD", "procedural")] == 1
    longer = Candidate(
        MemoryType.PROCEDURAL,
        steps + "\n3. restart the service",
        "deploy",
        (EventId(0),),
        T0,
        {
            "title": "Deploy",
            "trigger": "",
            "steps": "1. run make build\n2. push the image\n3. restart the service",
        },
    )
    assert _apply(service, "and restart", longer) == {("UPDATE", "procedural"): 1}
    [memory] = service.list_memories(MemoryType.PROCEDURAL)
    assert memory.version == 2 and "3. restart the service" in memory.text
    assert len(memory.source_event_ids) == 2
    history = service.history(memory.id)
    assert [h.op for h in history] == ["ADD", "UPDATE"]
    assert history[1].before and history[1].before["version"] == 1
    assert history[1].after and history[1].after["version"] == 2


def test_core_block_rewritten_within_cap(service: Service) -> None:
    def core(statement: str) -> Candidate:
        return Candidate(
            MemoryType.CORE, statement, "human", (EventId(0),), None, {"block": "human"}
        )

    assert _apply(service, "x", core("The user is a vegetarian."))[("ADD", "core")] == 1
    for n in range(30):
        _apply(
            service,
            f"fact {n}",
            core(f"The user has hobby number {n} which is collecting item {n * 7}."),
        )
    [human] = [m for m in service.list_memories(MemoryType.CORE) if m.fields["block"] == "human"]
    assert len(human.text) <= 600
    assert "hobby number 29" in human.text and "vegetarian" not in human.text  # oldest dropped
    assert human.version > 1
    assert _apply(
        service, "x", core("The user has hobby number 29 which is collecting item 203.")
    ) == {("NOOP", "core"): 1}
    assert fit_block(["a" * 50, "b" * 50], 60) == "b" * 50


def test_vault_value_encrypted_label_embedded(service: Service, data_dir: Path) -> None:
    secret = "tr0ub4dor&3"
    entry = Candidate(
        MemoryType.VAULT,
        "Alice's wifi password (credential)",
        "credential|alice s wifi password",
        (EventId(0),),
        T0,
        {"label": "Alice's wifi password", "vault_type": "credential"},
        "high",
        secret,
        "extractor",
    )
    ops = _apply(service, f"The wifi password is {secret}", entry)
    assert ops == {("ADD", "vault"): 1}
    [vault] = service.list_memories(MemoryType.VAULT)
    assert secret not in vault.text and secret not in json.dumps(vault.to_json())
    assert vault.sensitivity == "high"
    assert service.vault_value(vault.id) == secret
    key = data_dir / "keys.json"  # the data key, wrapped; no key file in clear
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert not (data_dir / "vault.key").exists()
    # the event and its raw record no longer hold the value, nor does any history row
    [raw] = [m for m in service.list_memories(MemoryType.EPISODIC) if "wifi" in m.text]
    assert secret not in raw.text and "[in vault]" in raw.text
    for memory in service.list_memories(include_inactive=True):
        assert all(
            secret not in json.dumps([h.before, h.after]) for h in service.history(memory.id)
        )
    # the same value again is a NOOP; a new value under the same label supersedes
    assert _apply(service, "again", entry) == {("NOOP", "vault"): 1}
    changed = Candidate(
        entry.type,
        entry.text,
        entry.key,
        entry.source_event_ids,
        T0,
        entry.fields,
        "high",
        "n3w-secret!",
        "extractor",
    )
    assert _apply(service, "new password n3w-secret!", changed) == {("SUPERSEDE", "vault"): 1}
    service.close()
    on_disk = b"".join(p.read_bytes() for p in data_dir.glob("ledger.sqlite3*"))
    assert secret.encode() not in on_disk and b"n3w-secret!" not in on_disk
    listed = run_cli(data_dir, "memories", "list", "--all", "--type", "vault")
    assert "[superseded]" in listed.stdout and "[active]" in listed.stdout


def test_decide_rules_are_pure() -> None:
    cand = Candidate(MemoryType.RESOURCE, "budget.xlsx", "budget xlsx", (EventId(1),), T0, {})
    assert decide(cand, [], []).op is Op.ADD


def test_history_cli_shows_versions(service: Service, data_dir: Path) -> None:
    _apply(
        service,
        "I live in Lisbon.",
        _fact(EventId(0), "Alice", "city", "Lisbon", "Alice lives in Lisbon."),
    )
    _apply(
        service,
        "I moved to Porto.",
        _fact(EventId(0), "Alice", "city", "Porto", "Alice lives in Porto."),
    )
    old = [
        m
        for m in service.list_memories(MemoryType.SEMANTIC, include_inactive=True)
        if m.status is MemoryStatus.SUPERSEDED
    ][0]
    service.close()
    shown = run_cli(data_dir, "memories", "history", old.id)
    assert shown.returncode == 0, shown.stderr
    assert "ADD       v1 [active]" in shown.stdout and "SUPERSEDE v1 [superseded]" in shown.stdout
    assert "superseded by sem-" in shown.stdout

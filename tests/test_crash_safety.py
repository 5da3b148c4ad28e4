"""Crash safety: `rememora replay` (capture), `rememora ingest`, `rememora consolidate`
and `rememora import` are killed with SIGKILL at random points, over and over, in a real
subprocess. After every kill the store opens; every event seen committed before the kill
is still there, as it was; no raw record is duplicated or missing; every memory row reads
and has its history; an import is all there or not at all; `doctor` finds Chroma in step
with the ledger (or repairs it). A run to the end afterwards completes normally; a
consolidation run that was cut off is logged as interrupted, and the one that finished
can be undone.

The default run kills a few times per phase; ``-m slow`` runs the soak."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from core.records import MemoryType
from core.service import ExportOptions, Service
from tests.archive_helpers import PASSPHRASE, T0, fill, new_store
from tests.conftest import REPO, cli_env

KILLS = {
    "replay": 2,
    "ingest": 1,
    "consolidate": 1,
    "import": 3,
}  # test_ingest_crash kills ingest once more
SOAK = 12
SURVIVED: dict[str, int] = {}


def _read(folder: Path, sql: str) -> list[tuple[object, ...]]:
    try:
        db = sqlite3.connect(f"file:{folder / 'ledger.sqlite3'}?mode=ro", uri=True, timeout=0.2)
        try:
            return [tuple(r) for r in db.execute(sql).fetchall()]
        finally:
            db.close()
    except sqlite3.OperationalError:
        return []  # not created yet, or busy this instant


def _run_and_kill(
    folder: Path, args: list[str], after_s: float, env: dict[str, str]
) -> dict[int, str]:
    """Start `rememora ARGS`, watch the events it commits, SIGKILL it ``after_s`` seconds
    after it took the lock; returns the events seen committed (id -> text)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    owner = folder / "rememora.lock.owner"
    started = None
    seen: dict[int, str] = {}
    while process.poll() is None:
        if started is None and owner.exists():
            started = time.monotonic()
        if started is not None and time.monotonic() - started >= after_s:
            process.send_signal(signal.SIGKILL)
            break
        seen.update({int(i): str(t) for i, t in _read(folder, "SELECT id, text FROM events")})  # type: ignore[call-overload]
        time.sleep(0.05)
    process.wait(timeout=60)
    return seen


def _check_store(folder: Path, seen: dict[int, str], embedder) -> None:  # type: ignore[no-untyped-def]
    now = dict(_read(folder, "SELECT id, text FROM events"))
    lost = {i: t for i, t in seen.items() if now.get(i) != t}
    assert not lost, f"events committed before the kill are gone or changed: {lost}"
    duplicated = _read(
        folder,
        "SELECT source_event_ids, COUNT(*) FROM memories WHERE type = 'episodic'"
        " AND json_extract(fields, '$.event_type') LIKE '%\\_turn' ESCAPE '\\'"
        " GROUP BY source_event_ids HAVING COUNT(*) > 1",
    )
    assert not duplicated, f"raw records duplicated: {duplicated}"
    unrecorded = _read(
        folder,
        "SELECT e.id FROM events e WHERE e.status = 'processed' AND NOT EXISTS (SELECT 1 FROM"
        " memories m WHERE m.type = 'episodic' AND m.source_event_ids = json_array(e.id))",
    )
    assert not unrecorded, f"processed events without their raw record: {unrecorded}"
    no_history = _read(
        folder,
        "SELECT id FROM memories m WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.memory_id = m.id)",
    )
    assert not no_history, f"memories without history: {no_history}"
    with Service(folder, embedder=embedder) as service:  # the store opens
        every = service.list_memories(include_inactive=True)  # every row reads
        checks = {c.name: c for c in service.doctor()}
        assert checks["ledger"].ok and checks["index"].ok, checks
        assert checks["media"].ok
        for memory_type in MemoryType:
            total = sum(m.type is memory_type for m in every)
            assert service.runtime.index.count(memory_type) <= total  # nothing Chroma-only
        assert not service.store.pending_index()


def _timed(folder: Path, args: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return time.monotonic() - start


def _screens(folder: Path, count: int) -> Path:
    folder.mkdir()
    font = ImageFont.load_default(size=28)
    for index in range(count):
        image = Image.new("RGB", (640, 240), "white")
        ImageDraw.Draw(image).text(
            (20, 90), f"Invoice number {1000 + index} for Lisbon office", fill="black", font=font
        )
        at = T0 + timedelta(minutes=index)
        image.save(folder / f"{at:%Y-%m-%d_%H-%M-%S}-000000.png")
    return folder


def _kill_phase(name: str, folder: Path, args: list[str], kills: int, embedder, env=None) -> None:  # type: ignore[no-untyped-def]
    env = env or cli_env(folder)
    rng = random.Random(f"{name}-{kills}")
    window = 15.0 if name == "replay" else 25.0  # seconds of work after the lock is taken
    for _ in range(kills):
        after = rng.uniform(0.5, max(1.0, window * 0.8))
        seen = _run_and_kill(folder, args, after, env)
        _check_store(folder, seen, embedder)
        SURVIVED[name] = SURVIVED.get(name, 0) + 1


def _replay(tmp_path: Path, shared_models: Path, embedder, kills: int) -> None:  # type: ignore[no-untyped-def]
    folder = new_store(tmp_path, "replay", shared_models)
    screens = _screens(tmp_path / "screens", 6)
    _kill_phase("replay", folder, ["replay", str(screens)], kills, embedder)
    _timed(folder, ["replay", str(screens)], cli_env(folder))  # and once more, to the end
    _check_store(folder, {}, embedder)


def _ingest(tmp_path: Path, shared_models: Path, embedder, kills: int) -> None:  # type: ignore[no-untyped-def]
    folder = new_store(tmp_path, "ingest", shared_models)
    with Service(folder, embedder=embedder) as service:
        for minute, text in enumerate(
            [
                "My sister Ana works as a nurse in Porto.",
                "Yesterday we went hiking in Sintra.",
                "I keep my passport in the blue drawer.",
            ]
        ):
            service.add_chat_turn("Alice", text, T0 + timedelta(minutes=minute))
    _kill_phase("ingest", folder, ["ingest"], kills, embedder)
    _timed(folder, ["ingest"], cli_env(folder))
    _check_store(folder, {}, embedder)
    assert _read(folder, "SELECT DISTINCT status FROM batches") == [("done",)]


def _consolidate(tmp_path: Path, shared_models: Path, embedder, kills: int) -> None:  # type: ignore[no-untyped-def]
    folder = new_store(tmp_path, "consolidate", shared_models)
    with Service(folder, embedder=embedder) as service:
        fill(service, frames=2)
        for minute, text in enumerate(
            [
                "I water the balcony plants every Friday evening.",
                "I water the plants on the balcony on Fridays.",
                "My sister Ana moved from Porto to Braga.",
            ]
        ):
            service.add_chat_turn("Alice", text, T0 + timedelta(hours=1, minutes=minute))
        service.record_events()
    _kill_phase("consolidate", folder, ["consolidate"], kills, embedder)
    _timed(folder, ["consolidate"], cli_env(folder))
    _check_store(folder, {}, embedder)
    statuses = [
        status
        for (status,) in _read(folder, "SELECT status FROM consolidation_runs ORDER BY rowid")
    ]  # type: ignore[misc]
    assert statuses[-1] == "done" and "running" not in statuses, statuses
    with Service(folder, embedder=embedder) as service:
        done = service.consolidation_runs()[-1]
        service.undo_consolidation(done.id)
        assert service.consolidation_runs()[-1].status == "undone"
    _check_store(folder, {}, embedder)


def _import(tmp_path: Path, shared_models: Path, embedder, kills: int) -> None:  # type: ignore[no-untyped-def]
    source = new_store(tmp_path, "source", shared_models)
    archive = tmp_path / "store.rememora"
    with Service(source, embedder=embedder) as service:
        fill(service, frames=3)
        service.export_archive(archive, ExportOptions(passphrase=PASSPHRASE))
        expected = sorted(
            (m.type.value, m.text) for m in service.list_memories(include_inactive=True)
        )
        events = service.store.count_events()
    target = new_store(tmp_path, "target", shared_models)
    env = cli_env(target) | {"REMEMORA_EXPORT_PASSPHRASE": PASSPHRASE}
    for _ in range(kills):
        seen = _run_and_kill(
            target, ["import", str(archive)], random.Random(_).uniform(0.5, 12.0), env
        )
        _check_store(target, seen, embedder)
        count = sum(n for (n,) in _read(target, "SELECT COUNT(*) FROM events"))  # type: ignore[misc]
        assert count in (0, sum(events.values())), "an import was half written"
        SURVIVED["import"] = SURVIVED.get("import", 0) + 1
    _timed(target, ["import", str(archive)], env)
    _check_store(target, {}, embedder)
    with Service(target, embedder=embedder) as service:
        got = sorted((m.type.value, m.text) for m in service.list_memories(include_inactive=True))
    assert got == expected  # the same as an uninterrupted import: nothing twice


@pytest.mark.timeout(1800)
def test_kill_replay_repeatedly(tmp_path: Path, shared_models: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _replay(tmp_path, shared_models, embedder, KILLS["replay"])


@pytest.mark.llm
@pytest.mark.timeout(1800)
def test_kill_ingest_repeatedly(tmp_path: Path, shared_models: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _ingest(tmp_path, shared_models, embedder, KILLS["ingest"])


@pytest.mark.llm
@pytest.mark.timeout(1800)
def test_kill_consolidate_repeatedly(tmp_path: Path, shared_models: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _consolidate(tmp_path, shared_models, embedder, KILLS["consolidate"])


@pytest.mark.timeout(1800)
def test_kill_import_repeatedly(tmp_path: Path, shared_models: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    _import(tmp_path, shared_models, embedder, KILLS["import"])
    print(f"\nkills survived: {json.dumps(SURVIVED)}")


@pytest.mark.slow
@pytest.mark.llm
@pytest.mark.timeout(4 * 3600)
def test_kill_soak(tmp_path: Path, shared_models: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    for part in "ricm":
        (tmp_path / part).mkdir()
    _replay(tmp_path / "r", shared_models, embedder, SOAK)
    _ingest(tmp_path / "i", shared_models, embedder, SOAK)
    _consolidate(tmp_path / "c", shared_models, embedder, SOAK)
    _import(tmp_path / "m", shared_models, embedder, SOAK)
    print(f"\nkills survived: {json.dumps(SURVIVED)}")

"""Killing `rememora ingest` (SIGKILL, a real subprocess) in the middle of extraction and
running it again gives the same memories as an uninterrupted run."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.service import Service
from tests.conftest import REPO, TEST_SETTINGS, cli_env, run_cli

TURNS = ["My sister Ana works as a nurse in Porto.", "Yesterday we went hiking."]
SLOW = 1800  # seconds; generous for a loaded machine
T0 = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)


def _store(folder: Path, models: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    folder.mkdir()
    (folder / "settings.toml").write_text(TEST_SETTINGS, encoding="utf-8")
    (folder / "models").symlink_to(models, target_is_directory=True)
    with Service(folder, embedder=embedder) as service:
        for minute, text in enumerate(TURNS):
            service.add_chat_turn("Alice", text, T0 + timedelta(minutes=minute))
    return folder


def _memories(folder: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(folder / "ledger.sqlite3")
    rows = db.execute(
        "SELECT type, text, status, version, source_event_ids, fields FROM memories"
        " WHERE NOT (type = 'vault') ORDER BY type, text"
    ).fetchall()
    return [tuple(r) for r in rows]


def _batches(folder: Path) -> list[str]:
    try:
        db = sqlite3.connect(f"file:{folder / 'ledger.sqlite3'}?mode=ro", uri=True, timeout=0.1)
        return [r[0] for r in db.execute("SELECT status FROM batches")]
    except sqlite3.OperationalError:
        return []


@pytest.mark.llm
@pytest.mark.timeout(2 * SLOW)
def test_kill_during_ingest_then_rerun_equals_uninterrupted(
    tmp_path: Path, shared_models: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    whole = _store(tmp_path / "whole", shared_models, embedder)
    killed = _store(tmp_path / "killed", shared_models, embedder)
    uninterrupted = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest"],
        cwd=REPO,
        env=cli_env(whole),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest"],
        cwd=REPO,
        env=cli_env(killed),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + SLOW
    while not _batches(killed):  # phase 1 has committed; extraction is running
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _batches(killed) == ["pending"]  # it died in the middle, before the batch was done
    _, errors = uninterrupted.communicate(timeout=SLOW)
    assert uninterrupted.returncode == 0, errors
    assert _memories(killed) != _memories(whole)

    again = run_cli(killed, "ingest", timeout=SLOW)
    assert again.returncode == 0, again.stderr
    assert _batches(killed) == _batches(whole) == ["done"]
    assert _memories(killed) == _memories(whole)
    assert len(_memories(whole)) >= 3  # raw records and the persona, at least

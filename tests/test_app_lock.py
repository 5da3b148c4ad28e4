"""The lock: `Service.lock` drops the data key; a locked store captures nothing new, shows
no screenshot or vault value and answers nothing until unlocked. `rememora lock` reaches
the running app over its single-instance socket; the tray's Lock / Unlock action and the
unlock dialog run on real Qt (offscreen). The passphrase the user would type comes from a
function given to the controls (the dialog itself is tested on its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox

from app.gui.lock_actions import LOCK_TEXT, UNLOCK_TEXT, LockControls
from app.gui.single_instance import InstanceServer
from app.gui.store_ops import StoreOps
from app.gui.unlock_dialog import UnlockDialog
from core.capture.frames import Frame
from core.capture.privacy import WindowInfo
from core.errors import KeyUnavailableError, LockedError
from core.records import MemoryType
from core.service import Service
from models.llm import LlamaCppLLM
from tests.archive_helpers import SECRET, T0, add_frame, fill
from tests.conftest import REPO, cli_env, run_cli_beside_qt

PASSPHRASE = os.environ["REMEMORA_PASSPHRASE"]


def test_a_locked_store_keeps_nothing_new_shows_nothing_answers_nothing(
    service: Service,
) -> None:
    fill(service, with_vault=True, frames=0)
    frame = add_frame(service, T0, 5)
    [vault] = service.list_memories(MemoryType.VAULT)
    events_before = service.store.count_events()
    pipeline = service.capture_pipeline()
    service.lock()
    assert service.locked
    refused = {
        "vault value": lambda: service.vault_value(vault.id),
        "screenshot": lambda: service.frame_image(frame),
        "ask": lambda: service.ask("Where does Ana work?", lambda _t: None),
        "search": lambda: service.search("Ana"),
        "chat turn": lambda: service.add_chat_turn("Alice", "a turn while locked"),
        "ingest": service.ingest,
    }
    for what, call in refused.items():
        with pytest.raises(LockedError) as caught:
            call()
        assert "locked" in str(caught.value) and "\n" not in str(caught.value), what
    image = Image.new("RGB", (64, 48), "white")
    outcome = pipeline.submit(Frame(T0 + timedelta(minutes=9), WindowInfo("ed", "t"), image=image))
    pipeline.drain()
    pipeline.close()
    assert outcome == "locked" and pipeline.counters.dropped_locked == 1
    assert len(list((service.data_dir / "media").rglob("*.frame"))) == 1  # only the old one
    assert service.store.count_events() == events_before

    with pytest.raises(KeyUnavailableError):
        service.unlock("not the passphrase")
    assert service.locked
    service.unlock(PASSPHRASE)
    assert service.vault_value(vault.id) == SECRET
    assert service.frame_image(frame)[8:12] == b"WEBP"
    assert service.search("Where does my sister Ana work?")


@pytest.mark.llm
def test_lock_clears_the_models_recent_prompts(service: Service) -> None:
    """An answer that used a vault value leaves its prompt's KV state in RAM; lock drops
    it with the key, so nothing of that prompt is reused (or readable) while locked."""
    fill(service, with_vault=True, frames=0)
    service.ask("What is my bank account number?", lambda _t: None)
    llm = service.runtime.load_llm()
    assert isinstance(llm, LlamaCppLLM) and llm.state_cache is not None
    assert llm.state_cache.keys_in_ram()
    service.lock()
    assert llm.state_cache.keys_in_ram() == []
    service.unlock(PASSPHRASE)
    service.ask("What is my bank account number?", lambda _t: None)
    assert llm.last_prompt is not None and llm.last_prompt.prefix.source in ("disk", "prefill")


def test_rememora_lock_without_a_running_app_says_so(data_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "lock"],
        capture_output=True,
        text=True,
        env=cli_env(data_dir),
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 1
    assert "no Rememora app is running" in done.stderr and done.stderr.count("\n") == 1


def test_rememora_lock_locks_the_running_app_through_its_socket(
    qtbot, service: Service, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    ops = StoreOps()
    controls = LockControls(service, ops)
    server = InstanceServer(data_dir, lambda: None, on_lock=controls.lock)
    try:
        done = run_cli_beside_qt(qtbot, data_dir, "lock")
        assert done.returncode == 0, done.stderr
        assert "locked the running Rememora app" in done.stdout
        assert service.locked and controls.action.text() == UNLOCK_TEXT
    finally:
        server.close()
        ops.close()


def test_tray_lock_action_locks_and_unlock_asks_for_the_passphrase(qtbot, service: Service) -> None:  # type: ignore[no-untyped-def]
    typed: list[str | None] = ["a wrong one", None, PASSPHRASE]
    asked: list[int] = []

    def ask() -> str | None:
        asked.append(1)
        return typed.pop(0)

    ops = StoreOps()
    controls = LockControls(service, ops, ask=ask)
    errors: list[str] = []
    controls.failed.connect(errors.append)
    try:
        assert controls.action.text() == LOCK_TEXT
        with qtbot.waitSignal(controls.settled, timeout=10_000) as locked:
            controls.action.trigger()
        assert locked.args == [True] and service.locked
        assert controls.action.text() == UNLOCK_TEXT

        with qtbot.waitSignal(controls.settled, timeout=30_000) as wrong:
            controls.action.trigger()  # a wrong passphrase: still locked, and told why
        assert wrong.args == [True] and service.locked
        assert errors and "wrong passphrase" in errors[0]

        controls.action.trigger()  # the dialog cancelled: nothing runs
        assert service.locked and len(asked) == 2

        with qtbot.waitSignal(controls.settled, timeout=30_000) as opened:
            controls.action.trigger()
        assert opened.args == [False] and not service.locked
        assert controls.action.text() == LOCK_TEXT and len(asked) == 3
    finally:
        ops.close()


def test_unlock_dialog_accepts_only_a_usable_passphrase(qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = UnlockDialog(None, new=False)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled() and not dialog.again.isVisibleTo(dialog)
    dialog.passphrase.setText("open sesame")
    assert ok.isEnabled()
    ok.click()
    assert dialog.value() == "open sesame"

    new = UnlockDialog(None, new=True)
    qtbot.addWidget(new)
    ok = new.buttons.button(QDialogButtonBox.StandardButton.Ok)
    new.passphrase.setText("short")
    new.again.setText("short")
    assert not ok.isEnabled()  # too short
    new.passphrase.setText("long enough now")
    new.again.setText("long enough no")
    assert not ok.isEnabled()  # the two differ
    new.again.setText("long enough now")
    assert ok.isEnabled()
    new.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert new.value() is None

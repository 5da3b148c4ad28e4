"""The first window, real Qt (offscreen) and the real tiny model."""

import re

import pytest

from app.gui.main_window import MainWindow
from core.answering.answer import Answer
from core.service import Service


@pytest.fixture
def window(qtbot, service: Service) -> MainWindow:  # type: ignore[no-untyped-def]
    shown = MainWindow(service)
    # no background ingest here (it has its own test): on a slow machine its timer fires
    # during a long test, and an extraction call in flight cannot be cancelled
    shown.background.timer.stop()
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    assert shown.finish()


@pytest.mark.llm
def test_remember_then_ask_streams_answer_from_worker(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.note.setText("I left my umbrella at the Rialto cafe.")
    with qtbot.waitSignal(window.memory_added, timeout=60_000):
        window.remember_button.click()
    # the status line is re-read by a query op once the turn's changes go out
    qtbot.waitUntil(lambda: "2 memories" in window.status_label.text(), timeout=10_000)
    assert "2 memories" in window.status_label.text()

    tokens: list[str] = []
    window.answer_token.connect(tokens.append)
    window.question.setText("Where is my umbrella?")
    with qtbot.waitSignal(window.answer_finished, timeout=120_000) as finished:
        window.ask_button.click()
        assert not window.ask_button.isEnabled()  # the UI thread is free while the worker runs
    result = finished.args[0]
    assert isinstance(result, Answer), result
    assert len(tokens) > 1
    assert window.answer_view.toPlainText().strip() == result.text
    assert window.sources.count() >= 1
    assert "Rialto cafe" in window.sources.item(0).text()
    assert window.ask_button.isEnabled()


def test_ask_with_empty_memory_says_so(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.question.setText("What did I eat on my birthday?")
    with qtbot.waitSignal(window.answer_finished, timeout=60_000) as finished:
        window.ask_button.click()
    assert isinstance(finished.args[0], Answer)
    assert "don't have anything in memory" in window.answer_view.toPlainText()
    assert window.sources.count() == 0


def test_second_launch_shows_the_running_window(qtbot, window: MainWindow, data_dir) -> None:  # type: ignore[no-untyped-def]
    from app.gui.single_instance import InstanceServer, ask_running_instance_to_show

    shown: list[bool] = []
    server = InstanceServer(data_dir, lambda: shown.append(True), window)
    try:
        assert ask_running_instance_to_show(data_dir)
        qtbot.waitUntil(lambda: shown == [True], timeout=5000)
    finally:
        server.close()
    assert not ask_running_instance_to_show(data_dir, timeout_ms=200)


def test_rememora_quick_ask_opens_the_running_apps_quick_ask_box(
    qtbot, window: MainWindow, data_dir
) -> None:  # type: ignore[no-untyped-def]
    """The global shortcut's command: a key bound in the desktop's settings runs
    `rememora quick-ask`, which opens the running app's quick-ask box over its socket
    (the window stays as it was); with no app running it says so in one line."""
    from app.gui.single_instance import InstanceServer
    from app.gui.tray import QuickAsk
    from tests.conftest import run_cli_beside_qt

    quick = QuickAsk(window)
    qtbot.addWidget(quick)
    shown: list[bool] = []
    server = InstanceServer(
        data_dir, lambda: shown.append(True), window, on_quick_ask=quick.open_here
    )
    try:
        done = run_cli_beside_qt(qtbot, data_dir, "quick-ask")
        assert done.returncode == 0, done.stderr
        qtbot.waitUntil(quick.isVisible, timeout=5000)
        assert shown == []  # the quick-ask box, not the main window
    finally:
        server.close()
    alone = run_cli_beside_qt(qtbot, data_dir, "quick-ask")
    assert alone.returncode == 1 and alone.stderr.count("\n") == 1
    assert "no Rememora app is running" in alone.stderr


@pytest.mark.llm
def test_background_ingest_runs_to_its_end_without_a_click(qtbot, data_dir, embedder) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import TEST_SETTINGS

    (data_dir / "settings.toml").write_text(
        TEST_SETTINGS.replace(
            "[llm]", "[llm]\nn_threads = 1"
        )  # 1 thread: far faster on a busy CI box
        + "\n[ingest]\nbackground_interval_s = 0.5\nidle_s = 0.0\n",
        encoding="utf-8",
    )
    with Service(data_dir, embedder=embedder) as service:
        shown = MainWindow(service)
        qtbot.addWidget(shown)
        shown.show()
        shown.note.setText("Yesterday my brother Tomas and I went hiking in Sintra.")
        with qtbot.waitSignal(shown.memory_added, timeout=60_000):
            shown.remember_button.click()
        # nothing else is pressed: the timer finds the pending batch and ingests it
        qtbot.waitUntil(lambda: shown.background.running, timeout=30_000)
        assert shown.remember_button.isEnabled() and shown.ask_button.isEnabled()  # UI is free

        # whether the tiny model extracts a typed memory from one note varies with the
        # build and the load (the write path's own tests measure extraction); what this
        # tests is that the timer ran the ingest to its end with no click
        qtbot.waitUntil(
            lambda: not shown.background.running and service.pending_ingest() == 0,
            timeout=300_000,
        )
        [batch] = service.store.all_batches()
        assert batch.status == "done" and (batch.routed_by_model or batch.routed_by_rules)
        assert service.pending_ingest() == 0
        total = sum(service.status().memories.values())
        # the ingest's changes make the status line read the figures again (a query op)
        qtbot.waitUntil(lambda: f"{total} memories" in shown.status_label.text(), timeout=10_000)
        status = shown.status_label.text()
        assert re.match(r"Background ingest: \d event\(s\), 1 batch\(es\): ", status), status
        with qtbot.waitSignal(shown.background.checked, timeout=10_000) as checked:
            shown.background.maybe_start()  # the pending count is read by a query op
        assert checked.args[0] is False  # nothing pending: no new run
        shown.close()


@pytest.mark.llm
def test_sources_show_the_memories_as_changes_rewrite_them(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """The sources list re-reads the memories it shows when a write names their type:
    here the user's correction of the raw record an answer cited, written on the store
    executor like every edit."""
    from core.changes import Changes
    from core.records import Memory

    service = window.service
    window.note.setText("My cat is called Miso and she sleeps in the green basket.")
    with qtbot.waitSignal(window.memory_added, timeout=60_000):
        window.remember_button.click()
    window.question.setText("What is my cat called?")
    with qtbot.waitSignal(window.answer_finished, timeout=120_000):
        window.ask_button.click()
    shown = [window.sources.item(i).text() for i in range(window.sources.count())]
    assert any("green basket" in text for text in shown), shown
    cited = next(m for m in window._shown if "green basket" in m.text)

    def correct(_context: object) -> Memory:
        return service.edit_memory(cited.id, cited.text.replace("green", "red"))

    window.store_ops.write(
        correct, lambda m: Changes.of_memories({m.type}), lambda _m: None, pytest.fail
    )

    def corrected() -> bool:
        texts = [window.sources.item(i).text() for i in range(window.sources.count())]
        return len(texts) == len(shown) and any("red basket" in t for t in texts)

    qtbot.waitUntil(corrected, timeout=30_000)
    texts = [window.sources.item(i).text() for i in range(window.sources.count())]
    green = sum("green basket" in t for t in texts)
    assert green == sum("green basket" in t for t in shown) - 1  # that line, re-read

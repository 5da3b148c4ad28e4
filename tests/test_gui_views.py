"""The desktop app's views, real Qt (offscreen) over a real store (the demo data: chat
turns, drawn frames, raw records, typed memories; real Chroma and embedder), each flow
under the UI watchdog (no UI-thread handler over 100 ms): ask, then open a cited
memory's source frame; edit a memory and see its history; delete a time range; a bad
setting refused with its message; every view opened; the first run; the install
entries. Only a person's click on a modal confirmation is replaced (the test's name
says so)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.gui.main_window import MainWindow
from app.gui.memory_dialog import MemoryDialog, SourceDialog
from core.answering.answer import Answer
from core.desktop import RangeDeletion
from core.errors import SettingsError
from core.records import EventKind, MemoryType
from core.service import Service
from tests.ui_watchdog import WatchedApplication

LIMIT_MS = 100.0


@pytest.fixture
def demo(service: Service) -> Service:
    service.fill_demo()
    return service


@pytest.fixture
def window(qtbot, demo: Service) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    shown = MainWindow(demo)
    shown.background.timer.stop()  # no background ingest here (it has its own test)
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    qtbot.waitUntil(lambda: shown.has_figures, timeout=30_000)
    yield shown
    assert shown.finish()


def _click_row(qtbot, widget, row: int) -> None:  # type: ignore[no-untyped-def]
    rect = widget.visualItemRect(widget.item(row))
    qtbot.mouseClick(widget.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.mark.llm
def test_ask_then_open_a_cited_source_frame(
    qtbot, qapp: WatchedApplication, window: MainWindow
) -> None:  # type: ignore[no-untyped-def]
    with qapp.watching(LIMIT_MS) as watchdog:
        # the guide on screen is the oldest memory retrieved, so it is cited as [1] or later
        qtbot.keyClicks(
            window.question, "How often does the sourdough starter guide say to feed it?"
        )
        with qtbot.waitSignal(window.answer_finished, timeout=180_000) as finished:
            qtbot.mouseClick(window.ask_button, Qt.MouseButton.LeftButton)
        result = finished.args[0]
        assert isinstance(result, Answer), result
        assert window.answer_view.toPlainText().strip() == result.text
        texts = [window.sources.item(i).text() for i in range(window.sources.count())]
        assert texts and all(t.startswith("[") for t in texts)  # numbered, apart from the text
        row = next(i for i, t in enumerate(texts) if "screen:" in t and "Sourdough" in t)
        with qtbot.waitSignal(window.citation_opened, timeout=10_000) as opened:
            _click_row(qtbot, window.sources, row)
        dialog = opened.args[0]
        assert isinstance(dialog, MemoryDialog)
        qtbot.waitUntil(lambda: dialog.findChild(SourceDialog) is not None, timeout=30_000)
        source = dialog.findChild(SourceDialog)
        assert isinstance(source, SourceDialog)
        assert source.frame.event.kind is EventKind.SCREEN
        qtbot.waitUntil(lambda: source.image_label.pixmap().width() > 100, timeout=30_000)
        assert "#fff176" in source.text_view.toHtml()  # the memory's words marked
        assert "every 12 hours" in source.text_view.toPlainText()
        # the question and its answer are in the searchable history (the ask log)
        qtbot.waitUntil(lambda: window.history_list.count() == 1, timeout=10_000)
        window.history_search.setText("sourdough")
        qtbot.waitSignal(window.history_shown, timeout=10_000).wait()
        assert window.history_list.count() == 1
        window.history_search.setText("nothing like it")
        qtbot.waitUntil(lambda: window.history_list.count() == 0, timeout=10_000)
        assert window.history_empty.text() == "No past question matches."
        source.close()
        dialog.close()
    watchdog.assert_none_slow()


def test_nothing_in_memory_is_said_plainly(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.question.setText("What colour is the submarine in the harbour painting?")
    with qtbot.waitSignal(window.answer_finished, timeout=60_000) as finished:
        window.ask_button.click()
    result = finished.args[0]
    assert isinstance(result, Answer) and not result.context and not result.used_llm
    assert window.nothing_label.isVisible() and window.nothing_label.text() == (
        "Nothing in memory about that."
    )
    assert not window.sources.isVisible()


def test_edit_a_memory_and_see_its_history(
    qtbot, qapp: WatchedApplication, window: MainWindow
) -> None:  # type: ignore[no-untyped-def]
    with qapp.watching(LIMIT_MS) as watchdog:
        window.tabs.setCurrentWidget(window.memories_view)
        tab = window.memories_view.tab(MemoryType.SEMANTIC)
        with qtbot.waitSignal(tab.listed, timeout=30_000):
            window.memories_view.setCurrentWidget(tab)
        row = next(i for i, m in enumerate(tab.shown) if "Okafor" in m.text)
        tab.table.selectRow(row)
        dialog = tab.open_selected()
        assert dialog is not None
        qtbot.waitSignal(dialog.loaded, timeout=30_000).wait()
        assert dialog.history_table.rowCount() == 1
        dialog.editor.setPlainText(dialog.editor.toPlainText().replace("9:30", "10:15"))
        with qtbot.waitSignal(tab.listed, timeout=30_000):  # the list re-reads from Changes
            with qtbot.waitSignal(dialog.saved, timeout=30_000) as saved:
                qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        assert not isinstance(saved.args[0], BaseException), saved.args[0]
        qtbot.waitUntil(lambda: dialog.history_table.rowCount() == 2, timeout=30_000)
        cells = [dialog.history_table.item(1, c).text() for c in range(5)]
        assert cells[1:4] == ["UPDATE", "user", "2"] and cells[4] == "edited by the user"
        assert any("10:15" in m.text for m in tab.shown)
        # its sources are links: the chat turn opens in its conversation
        with qtbot.waitSignal(dialog.source_opened, timeout=10_000) as opened:
            _click_row(qtbot, dialog.sources_list, 0)
        source = opened.args[0]
        qtbot.waitSignal(source.shown_source, timeout=30_000).wait()
        assert "Dr. Okafor" in source.text_view.toPlainText()
        assert "Noted: dentist" in source.text_view.toPlainText()  # the rest of the chat
        source.close()
        dialog.close()
    watchdog.assert_none_slow()


def test_delete_a_time_range_after_a_confirmation_clicked_by_a_stand_in(  # type: ignore[no-untyped-def]
    qtbot, qapp: WatchedApplication, window: MainWindow, demo: Service, monkeypatch
) -> None:
    asked: list[str] = []

    def person_says_yes(_parent, _title, text, *_args):  # type: ignore[no-untyped-def]
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "warning", person_says_yes)
    view = window.timeline_view
    with qapp.watching(LIMIT_MS) as watchdog:
        with qtbot.waitSignal(view.frames_listed, timeout=30_000):
            window.tabs.setCurrentWidget(view)
        days_before = view.days.count()
        oslo = demo.find_frames("flight to Oslo gate")[0]
        # the day shown before the jump may still finish loading its frame: wait for
        # the jumped-to frame itself
        with qtbot.waitSignal(
            view.frame_shown,
            timeout=30_000,
            check_params_cb=lambda frame: frame.event.id == oslo.event.id,
        ) as shown:
            view.jump_to(oslo)
        assert shown.args[0].event.id == oslo.event.id  # the search jumps to that frame
        start = oslo.event.occurred_at - timedelta(minutes=5)
        with qtbot.waitSignal(view.range_deleted, timeout=60_000) as deleted:
            view.plan_delete(start, start + timedelta(minutes=10))
        plan = deleted.args[0]
        assert isinstance(plan, RangeDeletion), plan
        assert asked and "1 screen frame(s) with their text, 1 image(s)" in asked[0]
        assert "memory(ies) made only from them" in asked[0]
        qtbot.waitUntil(lambda: "Deleted 1 screen frame(s)" in view.message.text(), timeout=10_000)
        qtbot.waitSignal(view.frames_listed, timeout=30_000).wait()
        assert all(f.event.id != oslo.event.id for f in view.frames)
        assert view.days.count() == days_before  # another frame of that day stays
    watchdog.assert_none_slow()
    assert demo.events([oslo.event.id]) == []


def test_a_bad_setting_is_refused_with_its_message(
    qtbot, window: MainWindow, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    view = window.settings_view
    window.tabs.setCurrentWidget(view)
    before = (data_dir / "settings.toml").read_text(encoding="utf-8")
    view.deny_titles.setPlainText(view.deny_titles.toPlainText() + "\n(unclosed")
    with qtbot.waitSignal(view.saved, timeout=30_000) as saved:
        view.save_button.click()
    error = saved.args[0]
    assert isinstance(error, SettingsError)
    assert view.message.text() == str(error)
    assert (
        "capture.deny_titles" in view.message.text() and "regular expression" in view.message.text()
    )
    assert (data_dir / "settings.toml").read_text(encoding="utf-8") == before
    view.deny_titles.setPlainText("\\bprivate\\b")
    view.user_name.setText("Sam")
    with qtbot.waitSignal(view.saved, timeout=30_000) as saved:
        view.save_button.click()
    assert not isinstance(saved.args[0], BaseException)
    assert 'name = "Sam"' in (data_dir / "settings.toml").read_text(encoding="utf-8")


def test_every_view_opens_under_the_watchdog(
    qtbot, qapp: WatchedApplication, window: MainWindow
) -> None:  # type: ignore[no-untyped-def]
    with qapp.watching(LIMIT_MS) as watchdog:
        with qtbot.waitSignal(window.memories_view.tab(MemoryType.EPISODIC).listed, timeout=30_000):
            window.tabs.setCurrentWidget(window.memories_view)
        core = window.memories_view.tabs[MemoryType.CORE]
        with qtbot.waitSignal(core.listed, timeout=30_000):
            window.memories_view.setCurrentWidget(core)
        vault = window.memories_view.tab(MemoryType.VAULT)
        with qtbot.waitSignal(vault.listed, timeout=30_000) as listed:
            window.memories_view.setCurrentWidget(vault)
        [entry] = listed.args[0]
        assert vault.table.item(0, 5).text().startswith("••••")  # masked until revealed
        vault.reveal(entry.id)
        qtbot.waitUntil(lambda: vault.table.item(0, 5).text() == "tulip-harbor-42", timeout=10_000)
        with qtbot.waitSignal(window.timeline_view.frame_shown, timeout=30_000):
            window.tabs.setCurrentWidget(window.timeline_view)
        assert window.timeline_view.days.count() == 4
        window.timeline_view.scrubber.setValue(0)
        with qtbot.waitSignal(window.insights_view.shown_insights, timeout=30_000) as insights:
            window.tabs.setCurrentWidget(window.insights_view)
        assert not isinstance(insights.args[0], BaseException), insights.args[0]
        window.tabs.setCurrentWidget(window.settings_view)
        qtbot.wait(200)
    watchdog.assert_none_slow()


def test_first_run_saves_the_choices(qtbot, demo: Service, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from app.gui.first_run import FirstRunDialog, is_first_run

    (data_dir / "settings.toml").unlink()
    assert is_first_run(demo)
    dialog = FirstRunDialog(demo)
    qtbot.addWidget(dialog)
    dialog.name.setText("Robin")
    dialog.deny_apps.setPlainText("keepassxc\nmy-diary")
    dialog.redact_phones.setChecked(False)
    with qtbot.waitSignal(dialog.saved, timeout=10_000) as saved:
        dialog.save()
    assert not isinstance(saved.args[0], BaseException)
    assert not is_first_run(demo)
    assert demo.settings.user.name == "Robin" and demo.identity.is_user("robin")
    assert demo.settings.capture.deny_apps == ("keepassxc", "my-diary")
    assert demo.settings.capture.redact_phones is False


def test_desktop_entries_install_for_the_current_user(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app import desktop_entry

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert desktop_entry.main(["install"]) == 0
    launcher = tmp_path / "data" / "applications" / "rememora.desktop"
    text = launcher.read_text(encoding="utf-8")
    assert "Icon=rememora" in text and "@EXEC@" not in text and " gui" in text
    assert (
        tmp_path / "data" / "icons" / "hicolor" / "scalable" / "apps" / "rememora.svg"
    ).is_file()
    assert not desktop_entry.autostart_installed()
    autostart = desktop_entry.install_autostart()
    assert autostart == tmp_path / "config" / "autostart" / "rememora.desktop"
    assert "gui --tray" in autostart.read_text(encoding="utf-8")
    assert desktop_entry.main(["uninstall"]) == 0
    assert not launcher.exists() and not autostart.exists()


def test_quick_ask_goes_through_the_window_and_says_when_nothing_is_known(
    qtbot, window: MainWindow
) -> None:  # type: ignore[no-untyped-def]
    from app.gui.tray import QuickAsk

    quick = QuickAsk(window)
    quick.open_here()
    quick.question.setText("What colour is the submarine in the harbour painting?")
    with qtbot.waitSignal(window.answer_finished, timeout=60_000):
        quick.ask()
    assert "Nothing in memory about that." in quick.answer.toPlainText()
    assert window.answer_view.toPlainText() in quick.answer.toPlainText()  # one answer, shown twice
    qtbot.waitUntil(lambda: window.history_list.count() == 1, timeout=10_000)  # in the ask log
    quick.close()

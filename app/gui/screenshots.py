"""`rememora gui --screenshots DIR [--question Q]`: build a small demo store in a
temporary directory (core/demo.py: invented, generic data), open each main view on it
(Ask with an answer and its citations, a cited source, Memories, the facts held for
confirmation, a memory's history,
Timeline, Insights, Settings, the first run), save one PNG per view into DIR, and exit.
The user's own store is not opened; the demo shares its model files (``models/``).
Used for the README's pictures and to look at the app without a person."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer, SignalInstance
from PySide6.QtWidgets import QApplication, QWidget

from app.gui.first_run import FirstRunDialog
from app.gui.main_window import MainWindow
from app.gui.memory_dialog import MemoryDialog
from core.records import MemoryType
from core.service import Service, throwaway_keys
from core.settings import load_settings, to_toml

DEFAULT_QUESTION = "Which seat do I have on the flight to Oslo?"
FIRST_QUESTION = "When is my dentist appointment?"
WAIT_MS = 300_000


def _wait(
    signal: SignalInstance, start: Callable[[], object] | None = None, ms: int = WAIT_MS
) -> list[object]:
    """Run the event loop until ``signal`` fires (after ``start``), or ``ms`` pass."""
    got: list[object] = []
    loop = QEventLoop()

    def fired(*args: object) -> None:
        got.extend(args)
        loop.quit()

    signal.connect(fired)
    QTimer.singleShot(ms, loop.quit)
    if start is not None:
        QTimer.singleShot(0, start)
    loop.exec()
    signal.disconnect(fired)
    return got


def _settle(ms: int = 250) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _save(widget: QWidget, path: Path, saved: list[Path]) -> None:
    _settle()
    if not widget.grab().save(str(path)):
        raise OSError(f"cannot write {path}")
    saved.append(path)


def demo_store(data_dir: Path, parent: Path) -> Path:
    """A new data directory with the user's model settings and model files."""
    folder = parent / "demo-store"
    folder.mkdir()
    settings = load_settings(data_dir) if data_dir.exists() else None
    raw: dict[str, object] = {"user": {"name": "Sam"}}
    if settings is not None:
        raw["llm"] = settings.llm.model_dump(mode="json")
    (folder / "settings.toml").write_text(to_toml(raw), encoding="utf-8")
    models = data_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    (folder / "models").symlink_to(models.resolve(), target_is_directory=True)
    return folder


def save_demo_views(data_dir: Path, folder: Path, question: str | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="rememora-demo-"))
    try:
        # a temporary demo store: a throwaway key, no OS keyring entry left behind
        with Service(demo_store(data_dir, scratch), keys=throwaway_keys()) as service:
            service.fill_demo()
            return _save_views(service, folder, question or DEFAULT_QUESTION)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _save_views(service: Service, folder: Path, question: str) -> list[Path]:
    saved: list[Path] = []
    window = MainWindow(service)
    window.background.timer.stop()
    window.resize(1180, 760)
    try:
        window.show()
        if not window.has_figures:
            _wait(window.status_shown)
        # Ask: a first question answered, then the one shown (with its citations)
        window.question.setText(FIRST_QUESTION)
        _wait(window.answer_finished, window.ask)
        window.question.setText(question)
        _wait(window.answer_finished, window.ask)
        _wait(window.history_shown, window.read_history, 5000)
        _save(window, folder / "ask.png", saved)
        # a cited memory's source: the first citation that rests on a kept frame
        cited = [i for i in range(window.sources.count())]
        with_frame = [
            i
            for i in cited
            if any(f.image is not None for f in service.memory_sources(window._shown[i].id))
        ]
        answer_words = set(window.answer_view.toPlainText().lower().split())

        def overlap(i: int) -> int:
            return len(answer_words & set(window._shown[i].text.lower().split()))

        if cited:
            best = max(with_frame or cited, key=overlap)
            dialog = window.open_citation(window._shown[best].id, False)
            _wait(dialog.loaded, None, 30_000)
            if dialog.detail and dialog.detail.sources:
                frames = [f for f in dialog.detail.sources if f.image is not None]
                source = dialog.open_source((frames or dialog.detail.sources)[0])
                _wait(source.shown_source, None, 30_000)
                _save(source, folder / "source.png", saved)
                source.close()
            dialog.close()
        # Memories: the semantic tab
        window.tabs.setCurrentWidget(window.memories_view)
        tab = window.memories_view.tab(MemoryType.SEMANTIC)
        window.memories_view.setCurrentWidget(tab)
        _wait(tab.listed, tab.refresh, 30_000)
        _save(window, folder / "memories.png", saved)
        # Memories: the facts held for confirmation
        held = window.memories_view.held
        window.memories_view.setCurrentWidget(held)
        _wait(held.listed, held.refresh, 30_000)
        _save(window, folder / "held-facts.png", saved)
        # A memory's history, after a correction by the user
        target = next(m for m in tab.shown if "Okafor" in m.text)
        service.edit_memory(target.id, target.text.replace("9:30", "10:00"), "moved by the dentist")
        history = MemoryDialog(service, window.store_ops, target.id, window)
        history.resize(900, 620)
        history.show()
        _wait(history.loaded, None, 30_000)
        _save(history, folder / "memory-history.png", saved)
        history.close()
        # Timeline
        timeline = window.timeline_view
        window.tabs.setCurrentWidget(timeline)
        _wait(timeline.frame_shown, None, 30_000)
        busiest = max(
            range(timeline.days.count()),
            key=lambda r: int(timeline.days.item(r).text().split()[-2]),
        )
        if busiest != timeline.days.currentRow():
            _wait(timeline.frame_shown, lambda: timeline.days.setCurrentRow(busiest), 30_000)
        _save(window, folder / "timeline.png", saved)
        # Insights
        window.tabs.setCurrentWidget(window.insights_view)
        if window.insights_view.insights is None:
            _wait(window.insights_view.shown_insights, None, 30_000)
        _save(window, folder / "insights.png", saved)
        # Settings
        window.tabs.setCurrentWidget(window.settings_view)
        _save(window, folder / "settings.png", saved)
        # The first run
        welcome = FirstRunDialog(service, window)
        welcome.show()
        _save(welcome, folder / "first-run.png", saved)
        welcome.close()
    finally:
        window.finish()
        window.close()
        QApplication.processEvents()
    return saved

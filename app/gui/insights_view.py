"""Insights: plots drawn with pyqtgraph (Qt-native, no browser): memories per type over
time, capture activity by app and by hour, storage used against the budget with the days
of history it holds, and the consolidation runs (the active memory's tokens before and
after each run, and what each run changed). The figures are one query op
(`Service.insights`); the view re-reads them on changes."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.gui.errors import describe
from app.gui.ops import OpContext
from app.gui.store_ops import StoreOps
from core.changes import Changes
from core.desktop import Insights, RunPoint
from core.records import MemoryType
from core.service import Service

COLOURS = {
    MemoryType.CORE: "#6c5ce7",
    MemoryType.EPISODIC: "#0984e3",
    MemoryType.SEMANTIC: "#00b894",
    MemoryType.PROCEDURAL: "#e17055",
    MemoryType.RESOURCE: "#fdcb6e",
    MemoryType.VAULT: "#636e72",
}
TOP_APPS = 8
MAX_RUNS = 30  # the latest runs plotted
RUN_CHANGES = (  # what a run changed, as stacked bar segments
    ("merged", "#6c5ce7"),
    ("summarised", "#0984e3"),
    ("superseded", "#e17055"),
    ("archived", "#b2bec3"),
    ("held", "#fdcb6e"),
)
TOKENS_BEFORE, TOKENS_AFTER = "#b2bec3", "#6c5ce7"


def _plot(title: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="w")
    widget.setTitle(title, color="#333", size="10pt")
    widget.showGrid(x=False, y=True, alpha=0.25)
    widget.setMenuEnabled(False)
    widget.setMouseEnabled(x=False, y=False)
    widget.hideButtons()
    widget.setMinimumHeight(190)
    for axis in ("left", "bottom"):
        widget.getAxis(axis).setTextPen("#555")
        widget.getAxis(axis).setPen("#bbb")
    return widget


def _whole_ticks(axis: pg.AxisItem, top: int) -> None:
    """Counts are whole numbers: ticks at whole steps only."""
    step = max(1, math.ceil(top / 5))
    axis.setTickSpacing(step, step)


def _size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def _run_ticks(plot: pg.PlotWidget, runs: list[RunPoint]) -> None:
    """Runs along the bottom: the local day of the first run of a day, the time of
    another run that day."""
    step = max(1, math.ceil(len(runs) / 6))
    ticks, day = [], None
    for i, run in enumerate(runs):
        local = run.finished_at.astimezone()
        label = f"{local:%H:%M}" if local.date() == day else f"{local:%d %b}"
        day = local.date()
        if i % step == 0:
            ticks.append((i, label))
    plot.getAxis("bottom").setTicks([ticks])
    plot.setXRange(-0.6, len(runs) - 0.4, padding=0)


def _run_line(run: RunPoint) -> str:
    counts = [(getattr(run, name), name) for name, _ in RUN_CHANGES]
    changed = ", ".join(f"{n} {name}" for n, name in counts if n) or "nothing changed"
    return (
        f"Last consolidation {run.finished_at.astimezone():%d %b %H:%M}: {changed}; "
        f"tokens {run.tokens_before} → {run.tokens_after}."
    )


def _empty(plot: pg.PlotWidget, text: str) -> None:
    label = pg.TextItem(text, color="#888", anchor=(0.5, 0.5))
    plot.addItem(label)
    plot.setXRange(0, 1)
    plot.setYRange(0, 1)
    label.setPos(0.5, 0.5)
    plot.getAxis("left").setTicks([[]])
    plot.getAxis("bottom").setTicks([[]])


class InsightsView(QWidget):
    shown_insights = Signal(object)  # Insights, or the error

    def __init__(
        self, service: Service, store_ops: StoreOps, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.store_ops = store_ops
        self.insights: Insights | None = None
        self.legend: pg.LegendItem | None = None
        self._read_once = False
        self._reading = False
        pg.setConfigOptions(antialias=True)
        self.per_type = _plot("Memories per day (the day each happened), by type")
        self.legend = self.per_type.addLegend(offset=(-10, 5), labelTextColor="#333")
        self.by_app = _plot("Frames captured, by app")
        self.by_hour = _plot("Frames captured, by hour of day")
        self.run_tokens = _plot("Tokens of active memory, per consolidation run")
        self.tokens_legend = self.run_tokens.addLegend(
            offset=(10, 5), labelTextColor="#333", colCount=2
        )
        self.run_changes = _plot("Changes per consolidation run")
        self.changes_legend = self.run_changes.addLegend(
            offset=(10, 5), labelTextColor="#333", colCount=3
        )
        self.change_bars: dict[str, pg.BarGraphItem] = {}  # what the changes plot shows
        self.runs_text = QLabel()
        self.runs_text.setWordWrap(True)
        consolidation = QWidget()
        runs_layout = QVBoxLayout(consolidation)
        runs_layout.setContentsMargins(0, 0, 0, 0)
        plots = QHBoxLayout()
        plots.addWidget(self.run_tokens)
        plots.addWidget(self.run_changes)
        runs_layout.addLayout(plots, 1)
        runs_layout.addWidget(self.runs_text)
        self.storage_bar = QProgressBar()
        self.storage_bar.setTextVisible(True)
        self.storage_text = QLabel()
        self.storage_text.setWordWrap(True)
        storage = QGroupBox("Storage")
        storage_layout = QVBoxLayout(storage)
        storage_layout.addWidget(self.storage_bar)
        storage_layout.addWidget(self.storage_text)
        storage_layout.addStretch(1)
        self.message = QLabel()
        grid = QGridLayout()  # eight even columns: storage takes two, the runs six
        grid.addWidget(self.per_type, 0, 0, 1, 8)
        grid.addWidget(self.by_app, 1, 0, 1, 4)
        grid.addWidget(self.by_hour, 1, 4, 1, 4)
        grid.addWidget(storage, 2, 0, 1, 2)
        grid.addWidget(consolidation, 2, 2, 1, 6)
        for column in range(8):
            grid.setColumnStretch(column, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(grid, 1)
        layout.addWidget(self.message)
        store_ops.changed.connect(self._on_changes)

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)  # type: ignore[arg-type]
        if not self._read_once:
            self._read_once = True
            self.refresh()

    def _on_changes(self, changes: Changes, _initiator: object) -> None:
        if self._read_once and (changes.memories or changes.events):
            self.refresh()

    def refresh(self) -> None:
        if self._reading:
            return

        def read(_context: OpContext) -> Insights:
            return self.service.insights()

        def failed(error: BaseException) -> None:
            self._reading = False
            self.message.setText(describe(error))
            self.shown_insights.emit(error)

        self._reading = self.store_ops.query(read, self.show, failed) is not None

    def show(self, insights: Insights) -> None:  # type: ignore[override]
        self._reading = False
        self.insights = insights
        self._draw_types(insights)
        self._draw_apps(insights)
        self._draw_hours(insights)
        self._draw_storage(insights)
        self._draw_runs(insights.consolidation_runs[-MAX_RUNS:])
        self.shown_insights.emit(insights)

    def _draw_types(self, insights: Insights) -> None:
        """Stacked bars: one per day, a segment per type."""
        plot = self.per_type
        plot.clear()
        if self.legend is not None:
            self.legend.clear()
        series = {t: dict(days) for t, days in insights.memories_per_day.items() if days}
        if not series:
            _empty(plot, "No memories yet.")
            return
        every_day = sorted({day for days in series.values() for day in days})
        xs = list(range(len(every_day)))
        base = [0] * len(every_day)
        for memory_type, days in series.items():
            heights = [days.get(day, 0) for day in every_day]
            bars = pg.BarGraphItem(
                x=xs, y0=list(base), height=heights, width=0.6, brush=COLOURS[memory_type], pen=None
            )
            plot.addItem(bars)
            if self.legend is not None:
                self.legend.addItem(bars, memory_type.value)
            base = [b + h for b, h in zip(base, heights)]
        step = max(1, len(every_day) // 10)
        plot.getAxis("bottom").setTicks(
            [[(i, f"{d:%d %b}") for i, d in enumerate(every_day) if i % step == 0]]
        )
        plot.getAxis("left").setTicks(None)
        _whole_ticks(plot.getAxis("left"), max(base))
        plot.setXRange(-0.6, len(every_day) - 0.4 + 1.2, padding=0)  # room for the legend
        plot.setYRange(0, max(base) * 1.1, padding=0)

    def _draw_apps(self, insights: Insights) -> None:
        plot = self.by_app
        plot.clear()
        apps = insights.frames_by_app[:TOP_APPS]
        if not apps:
            _empty(plot, "No frames captured yet.")
            return
        ys = list(range(len(apps)))[::-1]
        bars = pg.BarGraphItem(
            x0=0, y=ys, height=0.6, width=[n for _, n in apps], brush="#0984e3", pen=None
        )
        plot.addItem(bars)
        plot.getAxis("left").setTicks([[(y, name[:18]) for y, (name, _) in zip(ys, apps)]])
        plot.getAxis("bottom").setTicks(None)
        _whole_ticks(plot.getAxis("bottom"), max(n for _, n in apps))
        plot.enableAutoRange()

    def _draw_hours(self, insights: Insights) -> None:
        plot = self.by_hour
        plot.clear()
        if not any(insights.frames_by_hour):
            _empty(plot, "No frames captured yet.")
            return
        bars = pg.BarGraphItem(
            x=list(range(24)), height=insights.frames_by_hour, width=0.8, brush="#00b894", pen=None
        )
        plot.addItem(bars)
        plot.getAxis("bottom").setTicks([[(h, f"{h:02d}") for h in range(0, 24, 3)]])
        plot.getAxis("left").setTicks(None)
        _whole_ticks(plot.getAxis("left"), max(insights.frames_by_hour))
        plot.enableAutoRange()

    def _draw_storage(self, insights: Insights) -> None:
        used, budget = insights.media_bytes, insights.budget_bytes
        share = 0 if budget <= 0 else min(1000, int(1000 * used / budget))
        self.storage_bar.setRange(0, 1000)
        self.storage_bar.setValue(share)
        self.storage_bar.setFormat(f"{_size(used)} of {_size(budget)} for screen frames")
        days = insights.days_of_history
        if insights.oldest_frame is None:
            held = "No frames kept yet."
        else:
            oldest = insights.oldest_frame.astimezone()
            held = f"Frames kept since {oldest:%d %b %Y %H:%M}."
        if days is None:
            forecast = " The days of history the budget holds show after an hour of capture."
        elif days > 3650:
            forecast = " At the rate so far the budget holds more than ten years of history."
        else:
            forecast = f" At the rate so far the budget holds about {days:.0f} days of history."
        self.storage_text.setText(held + forecast)

    def _draw_runs(self, runs: list[RunPoint]) -> None:
        """Per run: the active memory's tokens before and after it (two lines), and its
        changes (stacked bars, a segment per kind)."""
        tokens, changes = self.run_tokens, self.run_changes
        tokens.clear()
        changes.clear()
        self.tokens_legend.clear()
        self.changes_legend.clear()
        self.change_bars.clear()
        if not runs:
            _empty(tokens, "No consolidation runs yet.\nThey appear here once it runs.")
            _empty(changes, "No consolidation runs yet.")
            self.runs_text.setText("")
            return
        xs = list(range(len(runs)))
        for label, colour, values in (
            ("before", TOKENS_BEFORE, [r.tokens_before for r in runs]),
            ("after", TOKENS_AFTER, [r.tokens_after for r in runs]),
        ):
            tokens.plot(
                xs,
                values,
                pen=pg.mkPen(colour, width=2),
                symbol="o",
                symbolSize=7,
                symbolBrush=colour,
                symbolPen=None,
                name=label,
            )
        _run_ticks(tokens, runs)
        tokens.getAxis("left").setTicks(None)
        top = max(max(r.tokens_before, r.tokens_after) for r in runs)
        tokens.setYRange(0, max(1, top) * 1.3, padding=0)  # room for the legend
        base = [0] * len(runs)
        for name, colour in RUN_CHANGES:
            heights = [getattr(r, name) for r in runs]
            if not any(heights):
                continue
            bars = pg.BarGraphItem(
                x=xs, y0=list(base), height=heights, width=0.6, brush=colour, pen=None
            )
            self.change_bars[name] = bars
            changes.addItem(bars)
            self.changes_legend.addItem(bars, name)
            base = [b + h for b, h in zip(base, heights)]
        _run_ticks(changes, runs)
        changes.getAxis("left").setTicks(None)
        _whole_ticks(changes.getAxis("left"), max(base))
        changes.setYRange(0, max(1, max(base)) * 1.6, padding=0)  # room for the legend
        self.runs_text.setText(_run_line(runs[-1]))

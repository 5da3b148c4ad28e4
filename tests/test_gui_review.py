"""The desktop app's review features, real Qt (offscreen) over a real store (real
Chroma and embedder, no LLM), each under the UI watchdog (no UI-thread handler over
100 ms): the insights view plots the consolidation runs. The runs' rows are written as
consolidation writes them (tests/held_facts.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.gui.insights_view import InsightsView
from app.gui.store_ops import StoreOps
from core.consolidate.report import ConsolidationReport
from core.desktop import Insights
from core.service import Service
from tests.held_facts import finished_run
from tests.ui_watchdog import WatchedApplication

LIMIT_MS = 100.0


@pytest.fixture
def ops() -> Iterator[StoreOps]:
    store_ops = StoreOps()
    yield store_ops
    assert store_ops.close()


def _no_slow(watchdog) -> None:  # type: ignore[no-untyped-def]
    timed = f"{watchdog.handled} handlers timed, longest {watchdog.longest_ms:.0f} ms"
    assert not watchdog.slow, f"slow UI-thread handlers ({timed}):\n" + "\n".join(
        map(str, watchdog.slow)
    )


def test_insights_plot_tokens_and_changes_per_run(
    qtbot, qapp: WatchedApplication, service: Service, ops: StoreOps
) -> None:  # type: ignore[no-untyped-def]
    view = InsightsView(service, ops)
    qtbot.addWidget(view)
    with qapp.watching(LIMIT_MS) as watchdog:
        with qtbot.waitSignal(view.shown_insights, timeout=30_000) as first:
            view.setVisible(True)  # (its show() draws figures)
        assert isinstance(first.args[0], Insights) and first.args[0].consolidation_runs == []
        assert not view.change_bars and not view.run_tokens.listDataItems()
        assert view.runs_text.text() == ""
        one = ConsolidationReport("run-1", merged=2, summarised=1, archived=3)
        one.tokens_before, one.tokens_after = 900, 700
        two = ConsolidationReport("run-2", superseded=1, tokens_before=700, tokens_after=650)
        two.held = 1
        finished_run(service, "run-1", one)
        finished_run(service, "run-2", two)
        finished_run(service, "run-3", ConsolidationReport("run-3", merged=9), status="undone")
        with qtbot.waitSignal(view.shown_insights, timeout=30_000) as second:
            view.refresh()
        assert [r.run_id for r in second.args[0].consolidation_runs] == ["run-1", "run-2"]
        before, after = view.run_tokens.listDataItems()
        assert [int(y) for y in before.getData()[1]] == [900, 700]
        assert [int(y) for y in after.getData()[1]] == [700, 650]
        bars = {name: [int(h) for h in b.opts["height"]] for name, b in view.change_bars.items()}
        assert bars == {
            "merged": [2, 0],
            "summarised": [1, 0],
            "superseded": [0, 1],
            "archived": [3, 0],
            "held": [0, 1],
        }
        assert ": 1 superseded, 1 held; " in view.runs_text.text()  # the last run's line
        assert "tokens 700 → 650" in view.runs_text.text()
    _no_slow(watchdog)

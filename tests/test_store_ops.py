"""The GUI's store executor: ops run in order on one thread that is not the UI thread,
writes broadcast their `Changes` after their slot has run, reads broadcast nothing, a
failed write reports everything, and a closed executor starts nothing (real Qt)."""

from __future__ import annotations

import threading

from app.gui.ops import OpContext, OpRunner
from app.gui.store_ops import StoreOps
from core.changes import EVENTS_ADDED, Changes


def _recorder(ops: StoreOps) -> list[tuple[Changes, object]]:
    seen: list[tuple[Changes, object]] = []
    ops.changed.connect(lambda changes, initiator: seen.append((changes, initiator)))
    return seen


def test_ops_run_in_order_on_one_worker_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    ops = StoreOps()
    threads: list[int] = []
    order: list[int] = []

    def step(n: int):  # type: ignore[no-untyped-def]
        def work(_context: OpContext) -> int:
            threads.append(threading.get_ident())
            return n

        return work

    for n in range(5):
        ops.query(step(n), order.append, lambda error: None)
    qtbot.waitUntil(lambda: len(order) == 5, timeout=5000)
    assert order == [0, 1, 2, 3, 4]
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()
    assert ops.close()


def test_write_broadcasts_its_changes_after_its_slot_query_does_not(qtbot) -> None:  # type: ignore[no-untyped-def]
    ops = StoreOps()
    seen = _recorder(ops)
    done: list[str] = []
    ops.query(lambda _c: "read", done.append, lambda error: None)
    marker = object()
    with qtbot.waitSignal(ops.changed, timeout=5000):
        ops.write(
            lambda _c: 7,
            lambda n: EVENTS_ADDED if n == 7 else Changes(),
            lambda n: done.append(f"wrote {n} before {len(seen)} broadcasts"),
            lambda error: None,
            initiator=marker,
        )
    assert done == ["read", "wrote 7 before 0 broadcasts"]
    assert seen == [(EVENTS_ADDED, marker)]
    assert ops.close()


def test_a_failed_write_reports_everything_and_a_closed_executor_starts_nothing(qtbot) -> None:  # type: ignore[no-untyped-def]
    ops = StoreOps()
    seen = _recorder(ops)
    errors: list[BaseException] = []

    def fail(_context: OpContext) -> int:
        raise OSError("disk gone")

    with qtbot.waitSignal(ops.changed, timeout=5000):
        ops.write(fail, lambda _n: Changes(), lambda _n: None, errors.append)
    assert [str(e) for e in errors] == ["disk gone"]
    assert seen == [(Changes.everything(), None)]
    assert ops.close()
    assert ops.query(lambda _c: 1, lambda _n: None, errors.append) is None
    assert ops.write(lambda _c: 1, lambda _n: EVENTS_ADDED, lambda _n: None, errors.append) is None


def test_a_job_runs_beside_the_store_executor(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A long job on its own runner does not hold up a read on the executor."""
    ops = StoreOps()
    jobs = OpRunner()
    release = threading.Event()
    seen = _recorder(ops)
    read: list[str] = []
    finished: list[str] = []

    def long_job(_context: OpContext) -> str:
        release.wait(10)
        return "ingested"

    ops.job(jobs, long_job, lambda _r: EVENTS_ADDED, finished.append, lambda error: None)
    ops.query(lambda _c: "status", read.append, lambda error: None)
    qtbot.waitUntil(lambda: read == ["status"], timeout=5000)
    assert finished == [] and seen == []
    release.set()
    qtbot.waitUntil(lambda: finished == ["ingested"] and len(seen) == 1, timeout=5000)
    assert jobs.wait() and ops.close()

"""Python's cycle collector runs on whichever thread happens to allocate when its
threshold trips. If that is a worker thread (a store read, a model job) and the garbage
holds a Qt object's wrapper (a closed dialog in a reference cycle), Qt deletes the object
on the wrong thread and the process crashes: a segmentation fault seen in the test suite,
in a memories read, while the UI thread was in its event loop. So while a window has
workers, automatic collection is off and the UI thread collects on a timer instead
(pyqtgraph's ``GarbageCollector``, which exists for this very reason). Nested windows
share one collector; the last one to finish turns automatic collection back on.

What is alive when the first window opens (torch, the embedder, Qt: about half a million
objects) is frozen first (``gc.freeze``), so a full collection on the UI thread scans only
what the app made since: 0.3 s a collection otherwise, far over the 100 ms a UI-thread
handler may take."""

from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector

_holders = 0
_collector: GarbageCollector | None = None
_was_enabled = True


def collect_on_ui_thread() -> None:
    """Start collecting on the UI thread's timer (call on the UI thread)."""
    global _holders, _collector, _was_enabled
    if _holders == 0:
        _was_enabled = gc.isenabled()
        gc.freeze()
        _collector = GarbageCollector(interval=1.0)  # disables automatic collection
    _holders += 1


def release() -> None:
    """One holder is done: the last restores automatic collection."""
    global _holders, _collector
    if _holders == 0:
        return
    _holders -= 1
    if _holders == 0 and _collector is not None:
        _collector.timer.stop()
        _collector = None
        gc.collect()  # here, on the UI thread, with the workers stopped (the unfrozen part)
        if _was_enabled:
            gc.enable()

"""One way to run core work off the UI thread (after Anki's ``CollectionOp``).

An `OpRunner` owns one worker thread, so the ops started on it run one at a time, in
order. An op gets an `OpContext`, which is core's progress sink and a token stream;
success, failure, progress and tokens come back to the UI thread as Qt signals. The store
executor (`app.gui.store_ops.StoreOps`) is one runner; each long job (ask, background
ingest) has its own, so that neither waits for the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from shiboken6 import isValid

T = TypeVar("T")
ProgressSlot = Callable[[int, int, str], None]


class OpContext(QObject):
    """Handed to the op's function: progress sink (core.progress.Progress) and tokens."""

    progressed = Signal(int, int, str)
    token = Signal(str)
    succeeded = Signal(object)
    failed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._cancel = threading.Event()

    def update(self, done: int, total: int | None, label: str) -> None:
        self.progressed.emit(done, -1 if total is None else total, label)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def emit_token(self, piece: str) -> None:
        self.token.emit(piece)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[OpContext], object], context: OpContext) -> None:
        super().__init__()
        self._fn = fn
        self._context = context

    def run(self) -> None:
        try:
            result = self._fn(self._context)
        except BaseException as error:
            self._context.failed.emit(error)
        else:
            self._context.succeeded.emit(result)


class OpRunner(QObject):
    """One worker thread; its ops run in the order they were started."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._live: set[OpContext] = set()

    @property
    def busy(self) -> bool:
        """An op is queued or running (its result not delivered yet)."""
        return bool(self._live)

    def start(
        self,
        fn: Callable[[OpContext], T],
        on_success: Callable[[T], None],
        on_failure: Callable[[BaseException], None],
        *,
        on_token: Callable[[str], None] | None = None,
        on_progress: ProgressSlot | None = None,
    ) -> OpContext:
        """Run `fn` on the worker thread; every slot is connected before it starts.

        A signal emitted by the worker before a slot is connected is lost, so token and
        progress slots are taken here rather than connected to the returned context. A
        result that arrives after this runner (and so its owner) was deleted is dropped.
        """
        context = OpContext()
        self._live.add(context)

        def succeeded(result: T) -> None:
            self._live.discard(context)
            if isValid(self):  # the window that owns this runner may be gone by now
                on_success(result)

        def failed(error: BaseException) -> None:
            self._live.discard(context)
            if isValid(self):
                on_failure(error)

        context.succeeded.connect(succeeded)
        context.failed.connect(failed)
        if on_token is not None:
            context.token.connect(on_token)
        if on_progress is not None:
            context.progressed.connect(on_progress)
        self._pool.start(_Runnable(fn, context))
        return context

    def cancel_all(self) -> None:
        for context in self._live:
            context.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

"""The GUI's one store executor and its change events (after Anki's ``CollectionOp``,
``QueryOp`` and ``OpChanges``).

Every store read and write that the window, the tray and the background ingest make
goes through one `StoreOps`:

* `query` (Anki's ``QueryOp``): a read (the status figures, the pending count, capture
  health) on the store executor; its result comes back to a slot. Nothing reads the store
  on the UI thread, so no slot there waits for the ledger's lock or walks a folder.
* `write` (``CollectionOp``): a short write (a chat turn and its raw record, capture
  start/pause/stop) on the store executor; after it succeeds its `Changes` go out on
  `changed`, and each view refreshes only what they name.
* `job`: a long, model-bound op (ask, background ingest) on a runner of its own, whose
  `Changes` go out on the same `changed` signal when it ends.

Why not everything on the one executor, as Anki does? Anki's ops are short; ours are
not: an ingest holds the model for minutes, and a question asked meanwhile must not wait
for it. So ask and ingest each run on their own job thread, and every store access
inside them is a short transaction in core (the ledger serialises them, and the LLM
worker's priority queue puts the question's generation first). The executor keeps the
short reads and writes in order among themselves, and a status read never queues
behind a model call.

A failed write or job reports `Changes.everything`: it may have written part of its work
before it stopped. After `close` no op starts and no change goes out, so nothing touches
a service that is being closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal
from shiboken6 import isValid

from app.gui.ops import OpContext, OpRunner, ProgressSlot
from core.changes import Changes

T = TypeVar("T")
Failure = Callable[[BaseException], None]


class StoreOps(QObject):
    changed = Signal(object, object)  # Changes, the initiator the op named (or None)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = OpRunner(self)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def busy(self) -> bool:
        """An op on the store executor is queued or running."""
        return self._executor.busy

    def query(
        self,
        fn: Callable[[OpContext], T],
        on_success: Callable[[T], None],
        on_failure: Failure,
    ) -> OpContext | None:
        """Read on the store executor; nothing changes, so nothing is broadcast."""
        if self._closed:
            return None
        return self._executor.start(fn, on_success, on_failure)

    def write(
        self,
        fn: Callable[[OpContext], T],
        changes: Callable[[T], Changes],
        on_success: Callable[[T], None],
        on_failure: Failure,
        *,
        initiator: object | None = None,
        on_progress: ProgressSlot | None = None,
    ) -> OpContext | None:
        """Write on the store executor; then ``changes(result)`` goes out on `changed`."""
        return self.job(
            self._executor,
            fn,
            changes,
            on_success,
            on_failure,
            initiator=initiator,
            on_progress=on_progress,
        )

    def job(
        self,
        runner: OpRunner,
        fn: Callable[[OpContext], T],
        changes: Callable[[T], Changes],
        on_success: Callable[[T], None],
        on_failure: Failure,
        *,
        initiator: object | None = None,
        on_token: Callable[[str], None] | None = None,
        on_progress: ProgressSlot | None = None,
    ) -> OpContext | None:
        """A long op on ``runner`` (its own thread); its changes go out when it ends.
        ``initiator`` rides along with the changes, so the view that started the op can
        tell that it already shows the result."""
        if self._closed:
            return None

        def succeeded(result: T) -> None:
            on_success(result)
            self._announce(changes(result), initiator)

        def failed(error: BaseException) -> None:
            on_failure(error)
            self._announce(Changes.everything(), initiator)

        return runner.start(fn, succeeded, failed, on_token=on_token, on_progress=on_progress)

    def announce(self, changes: Changes, initiator: object | None = None) -> None:
        """Broadcast what a write outside these ops changed (a scheduled consolidation
        run, on core's own thread); call it on the UI thread."""
        self._announce(changes, initiator)

    def _announce(self, changes: Changes, initiator: object | None) -> None:
        if changes and not self._closed and isValid(self):
            self.changed.emit(changes, initiator)

    def wait(self, msecs: int = 30000) -> bool:
        """Wait for the store executor's queued ops (not for jobs on other runners)."""
        return self._executor.wait(msecs)

    def close(self, msecs: int = 30000) -> bool:
        """Start nothing more, broadcast nothing more, and wait for what is queued."""
        self._closed = True
        return self._executor.wait(msecs)

"""Lock / Unlock in the tray menu (or the window's Capture menu where there is no tray).

Lock drops the data key (``Service.lock``) as an op on the store executor, behind what is
already queued; from then on the recorder pauses ("Rememora is locked"), and asking,
searching and the background ingest are refused until Unlock. Unlock asks for the
passphrase first where no OS keyring holds the key (the unlock dialog, on the UI thread),
then opens the key as an op; a wrong passphrase leaves the app locked and says so.
`rememora lock` reaches :meth:`LockControls.lock` through the single-instance socket."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

from app.gui.errors import describe
from app.gui.ops import OpContext
from app.gui.store_ops import StoreOps
from app.gui.unlock_dialog import ask_passphrase
from core.changes import Changes
from core.service import Service

LOCK_TEXT = "Lock Rememora"
UNLOCK_TEXT = "Unlock Rememora…"
AskPassphrase = Callable[[], str | None]


class LockControls(QObject):
    """The Lock / Unlock action over one service. ``ask``: how the passphrase is asked
    (the unlock dialog by default)."""

    settled = Signal(bool)  # a lock or unlock op ended; whether the app is locked now
    failed = Signal(str)  # an unlock that did not open the key: why

    def __init__(
        self,
        service: Service,
        store_ops: StoreOps,
        parent: QObject | None = None,
        ask: AskPassphrase | None = None,
        dialog_parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.store_ops = store_ops
        self._ask = ask or (lambda: ask_passphrase(dialog_parent, new=False))
        self.last_error = ""
        self.action = QAction(LOCK_TEXT, self)
        self.action.triggered.connect(self.toggle)
        self._show(service.locked)

    @property
    def locked(self) -> bool:
        return self.service.locked

    def add_to(self, menu: QMenu, before: QAction | None = None) -> None:
        if before is not None:
            menu.insertAction(before, self.action)
        else:
            menu.addAction(self.action)

    def toggle(self) -> None:
        if self.service.locked:
            self.unlock()
        else:
            self.lock()

    def lock(self, then: Callable[[], None] | None = None) -> None:
        def work(_context: OpContext) -> bool:
            self.service.lock()
            return True

        self._run(work, then)

    def unlock(self) -> None:
        passphrase = self._ask() if self.service.needs_passphrase() else None
        if self.service.needs_passphrase() and passphrase is None:
            return  # the dialog was cancelled: still locked

        def work(_context: OpContext) -> bool:
            self.service.unlock(passphrase)
            return False

        self._run(work)

    def _run(
        self, work: Callable[[OpContext], bool], then: Callable[[], None] | None = None
    ) -> None:
        def done(locked: bool) -> None:
            self.last_error = ""
            self._show(locked)
            self.settled.emit(locked)
            if then is not None:
                then()

        def failed(error: BaseException) -> None:
            self.last_error = describe(error)
            self._show(self.service.locked)
            self.failed.emit(self.last_error)
            self.settled.emit(self.service.locked)
            if then is not None:
                then()

        self.store_ops.write(
            work, lambda _locked: Changes.everything(), done, failed, initiator=self
        )

    def _show(self, locked: bool) -> None:
        self.action.setText(UNLOCK_TEXT if locked else LOCK_TEXT)


def install_lock(
    menu: QMenu,
    before: QAction,
    service: Service,
    store_ops: StoreOps,
    window: QWidget,
    notice: Callable[[str], None],
) -> LockControls:
    """Put Lock / Unlock into the tray (or Capture) menu, above ``before``; an unlock
    that fails is told through ``notice`` (the window's status line)."""
    controls = LockControls(service, store_ops, window, dialog_parent=window)
    controls.add_to(menu, before)
    controls.failed.connect(notice)
    return controls

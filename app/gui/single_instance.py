"""Single instance, politely (after Anki): the first app listens on a local socket named
after its data directory; a second launch on the same directory asks it to show its
window and exits, instead of failing on the store lock. `rememora lock` uses the same
socket to lock the running app: it sends ``lock`` and waits for ``locked``; `rememora
quick-ask` sends ``quick-ask`` (the global shortcut's command: the desktop binds a key
to it, since Qt has no global hotkeys)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

SHOW = b"show\n"
LOCK = b"lock\n"
LOCKED = b"locked\n"
QUICK_ASK = b"quick-ask\n"


def server_name(data_dir: Path) -> str:
    return "rememora-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]


def _connect(data_dir: Path, timeout_ms: int) -> QLocalSocket | None:
    if QCoreApplication.instance() is None:  # the CLI: sockets need an application object
        QCoreApplication([])
    socket = QLocalSocket()
    socket.connectToServer(server_name(data_dir))
    return socket if socket.waitForConnected(timeout_ms) else None


def ask_running_instance_to_show(
    data_dir: Path, timeout_ms: int = 1000, message: bytes = SHOW
) -> bool:
    """True if an app already owns ``data_dir`` and was told to show itself (``message``:
    its window, or with QUICK_ASK its quick-ask box)."""
    socket = _connect(data_dir, timeout_ms)
    if socket is None:
        return False
    socket.write(message)
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


def ask_running_instance_to_lock(data_dir: Path, timeout_ms: int = 5000) -> bool | None:
    """Lock the app that owns ``data_dir``: True once it says it is locked, False if it
    did not answer in time, None if no app is running there."""
    socket = _connect(data_dir, timeout_ms)
    if socket is None:
        return None
    socket.write(LOCK)
    socket.waitForBytesWritten(timeout_ms)
    answer = b""
    while LOCKED not in answer and socket.waitForReadyRead(timeout_ms):
        answer += bytes(socket.readAll().data())
    socket.disconnectFromServer()
    return LOCKED in answer


class InstanceServer(QObject):
    def __init__(
        self,
        data_dir: Path,
        on_show: Callable[[], None],
        parent: QObject | None = None,
        on_lock: Callable[[Callable[[], None]], None] | None = None,
        on_quick_ask: Callable[[], None] | None = None,
    ) -> None:
        """``on_lock(done)``: lock the app, then call ``done`` (which answers the
        client); ``on_quick_ask``: open the quick-ask box (else the window is shown)."""
        super().__init__(parent)
        self._server = QLocalServer(self)
        self._on_show = on_show
        self._on_lock = on_lock
        self._on_quick_ask = on_quick_ask
        name = server_name(data_dir)
        QLocalServer.removeServer(name)  # a stale socket left by a killed app
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.listen(name)
        self._server.newConnection.connect(self._accept)

    def _accept(self) -> None:
        while (connection := self._server.nextPendingConnection()) is not None:
            connection.readyRead.connect(self._read)

    def _read(self) -> None:
        connection = self.sender()
        if not isinstance(connection, QLocalSocket):
            return
        message = bytes(connection.readAll().data())
        if message.strip() == QUICK_ASK.strip():
            (self._on_quick_ask or self._on_show)()
        elif SHOW.strip() in message:
            self._on_show()
        if LOCK.strip() in message and self._on_lock is not None:

            def answer() -> None:
                if connection.state() == QLocalSocket.LocalSocketState.ConnectedState:
                    connection.write(LOCKED)
                    connection.flush()

            self._on_lock(answer)

    def close(self) -> None:
        self._server.close()

"""Single instance, politely (after Anki): the first app listens on a local socket named
after its data directory; a second launch on the same directory asks it to show its
window and exits, instead of failing on the store lock."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

SHOW = b"show\n"


def server_name(data_dir: Path) -> str:
    return "rememora-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]


def ask_running_instance_to_show(data_dir: Path, timeout_ms: int = 1000) -> bool:
    """True if an app already owns ``data_dir`` and was told to show itself."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(data_dir))
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(SHOW)
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    def __init__(
        self, data_dir: Path, on_show: Callable[[], None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._server = QLocalServer(self)
        self._on_show = on_show
        name = server_name(data_dir)
        QLocalServer.removeServer(name)  # a stale socket left by a killed app
        self._server.listen(name)
        self._server.newConnection.connect(self._accept)

    def _accept(self) -> None:
        while (connection := self._server.nextPendingConnection()) is not None:
            connection.readyRead.connect(self._read)

    def _read(self) -> None:
        connection = self.sender()
        if isinstance(connection, QLocalSocket) and SHOW.strip() in bytes(
            connection.readAll().data()
        ):
            self._on_show()

    def close(self) -> None:
        self._server.close()

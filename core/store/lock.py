"""One process owns a data directory.

The lock is an OS file lock (``filelock``), so it is released when the owner dies, even
by kill -9; a sidecar file says who holds it, for the error message.
"""

from __future__ import annotations

import os
import socket
from types import TracebackType

from filelock import FileLock, Timeout

from core.errors import StoreLockedError
from core.store.paths import StorePaths


class DataDirLock:
    def __init__(self, paths: StorePaths) -> None:
        self._paths = paths
        self._lock = FileLock(str(paths.lock), timeout=0)

    def acquire(self) -> None:
        self._paths.root.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise StoreLockedError(self._paths.root, self.owner()) from None
        self._paths.lock_owner.write_text(
            f"pid {os.getpid()} on {socket.gethostname()}", encoding="utf-8"
        )

    def owner(self) -> str:
        try:
            return self._paths.lock_owner.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    @property
    def is_held(self) -> bool:
        return bool(self._lock.is_locked)

    def release(self) -> None:
        if self._lock.is_locked:
            self._paths.lock_owner.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.release()

"""The ``counters`` table: running totals the store keeps so that status is a few row
reads, however much has been captured (no walk of the media folder).

Media totals are kept by the capture media store's callback (``Ledger.count_media``):
+1 file and its bytes when a frame is written, minus the same when one is deleted. A
store from before the table has no row yet; the service counts the folder once then.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

_FILES = "media_files"
_BYTES = "media_bytes"


@dataclass(frozen=True)
class MediaTotals:
    """Captured frames kept on disk: how many and their size."""

    files: int
    bytes: int


class Counters:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def media(self) -> MediaTotals | None:
        """The media totals, or None when this store has never counted them."""
        rows = dict(
            self._db.execute(
                "SELECT name, value FROM counters WHERE name IN (?, ?)", (_FILES, _BYTES)
            ).fetchall()
        )
        if _FILES not in rows or _BYTES not in rows:
            return None
        return MediaTotals(int(rows[_FILES]), int(rows[_BYTES]))

    def add_media(self, files: int, size: int) -> None:
        self._db.executemany(
            "INSERT INTO counters(name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            [(_FILES, files), (_BYTES, size)],
        )

    def set_media(self, totals: MediaTotals) -> None:
        self._db.executemany(
            "INSERT INTO counters(name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [(_FILES, totals.files), (_BYTES, totals.bytes)],
        )

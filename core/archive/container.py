"""The archive's container: a gzip-compressed ustar tar, readable by any tar tool when it
is not sealed (``tar tzf``), written with :mod:`tarfile` and read by a small reader of our
own that takes one 512-byte header at a time.

The reader follows no links, long-name or pax extensions and extracts nothing to disk:
every member must be a regular file whose name and size the caller allows, and bytes are
handed out in chunks, so neither a hostile tar nor a gzip bomb can make it write outside
the store or hold more than one chunk in memory.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from core.errors import ArchiveError

BLOCK = 512
READ_CHUNK = 1 << 20


class _ChunkStream(io.RawIOBase):
    """A file object over an iterator of byte chunks (what tarfile.addfile copies from)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            self._left = next(self._chunks, b"")
            if not self._left:
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


class ArchiveWriter:
    """Members in order; ``close`` ends the tar and the gzip stream (not ``sink``)."""

    def __init__(self, sink: BinaryIO, created: datetime) -> None:
        # closed by close(), once every member is in
        self._tar = tarfile.open(fileobj=sink, mode="w|gz", format=tarfile.USTAR_FORMAT)  # noqa: SIM115
        self._mtime = int(created.timestamp())

    def add(self, name: str, size: int, chunks: Iterable[bytes]) -> None:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = self._mtime
        info.mode = 0o600
        self._tar.addfile(info, io.BufferedReader(_ChunkStream(chunks)))

    def add_bytes(self, name: str, data: bytes) -> None:
        self.add(name, len(data), [data])

    def close(self) -> None:
        self._tar.close()


class ArchiveReader:
    """Reads members one after the other from a (decrypted) tar.gz stream. ``count`` is
    the bytes of member data read so far."""

    def __init__(self, source: BinaryIO, path: Path) -> None:
        self._gzip = gzip.GzipFile(fileobj=source, mode="rb")
        self._path = path
        self._left = 0  # data bytes of the current member not yet read
        self._pad = 0
        self.count = 0

    def _fail(self, message: str) -> ArchiveError:
        return ArchiveError(self._path, message)

    def _read(self, size: int) -> bytes:
        try:
            data = self._gzip.read(size)
        except EOFError:
            raise self._fail("truncated: the archive ends in the middle") from None
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise self._fail(f"damaged: not a readable tar.gz ({exc})") from None
        if len(data) < size:
            raise self._fail("truncated: the archive ends in the middle")
        return data

    def next_member(self, allowed: Callable[[str], int | None]) -> tuple[str, int] | None:
        """The next member's name and size, or None at the end. ``allowed(name)`` gives
        the most bytes a member of that name may hold, or None for a name not allowed."""
        if self._left:
            raise RuntimeError("the previous member was not read to its end")
        if self._pad:
            self._read(self._pad)
            self._pad = 0
        block = self._read(BLOCK)
        if block == bytes(BLOCK):
            return None  # the end-of-archive marker
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "strict")
        except tarfile.HeaderError as exc:
            raise self._fail(f"damaged: a bad tar header ({exc})") from None
        if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
            raise self._fail(f"member {info.name!r} is not a regular file")
        limit = allowed(info.name)
        if limit is None:
            raise self._fail(f"unexpected member {info.name!r}")
        if not 0 <= info.size <= limit:
            raise self._fail(f"member {info.name!r} is too big ({info.size} bytes; limit {limit})")
        self._left = info.size
        self._pad = -info.size % BLOCK
        return info.name, info.size

    def chunks(self) -> Iterator[bytes]:
        """The current member's bytes, in chunks of at most 1 MiB."""
        while self._left:
            data = self._read(min(READ_CHUNK, self._left))
            self._left -= len(data)
            self.count += len(data)
            yield data

    def read_all(self) -> bytes:
        return b"".join(self.chunks())

    def finish(self) -> None:
        """After the end marker: the tar's zero padding, then the end of the stream, so
        the gzip checksum (and, sealed, the last chunk) is checked too."""
        try:
            rest = self._gzip.read(tarfile.RECORDSIZE)
            extra = self._gzip.read(1)
        except EOFError:
            raise self._fail("truncated: the archive ends in the middle") from None
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            raise self._fail(f"damaged: not a readable tar.gz ({exc})") from None
        if extra or rest.strip(b"\0"):
            raise self._fail("damaged: data after the end of the archive")

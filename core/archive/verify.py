"""Reading an archive: open it (sealed or not), then check everything before the store is
touched: the manifest first, then every member against it (name, order, size, sha256),
every line of the record members parsed into typed records, the counts, the limits of
core.archive.format, and that no vault value sits in an unsealed archive. Any problem is
one :class:`ArchiveError`; nothing is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from core.archive.container import ArchiveReader
from core.archive.format import (
    EVENTS,
    HISTORY,
    MANIFEST,
    MAX_LINE_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_MEDIA_BYTES,
    MAX_RECORDS_BYTES,
    MEDIA_PREFIX,
    MEMORIES,
    RECORD_MEMBERS,
    Manifest,
    MemberEntry,
    RecordError,
    event_from_json,
    history_from_json,
    manifest_from_json,
    memory_from_json,
)
from core.archive.sealing import SealedReader, is_sealed
from core.capture.frame_files import is_frame_name
from core.errors import ArchiveError, InputFileError
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import Event, HistoryRow, Memory, MemoryId, MemoryType

AskPassphrase = Callable[[], str]
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class VerifiedArchive:
    path: Path
    manifest: Manifest
    passphrase: str | None
    events: list[Event] = field(default_factory=list)
    memories: list[Memory] = field(default_factory=list)
    history: dict[MemoryId, list[HistoryRow]] = field(default_factory=dict)

    @property
    def media(self) -> list[MemberEntry]:
        return [m for m in self.manifest.members if m.name.startswith(MEDIA_PREFIX)]


def member_limit(name: str) -> int | None:
    """The most bytes a member of this name may hold; None: no such member."""
    if name == MANIFEST:
        return MAX_MANIFEST_BYTES
    if name in RECORD_MEMBERS:
        return MAX_RECORDS_BYTES
    if name.startswith(MEDIA_PREFIX) and is_frame_name(name.removeprefix(MEDIA_PREFIX)):
        return MAX_MEDIA_BYTES
    return None


@contextmanager
def open_plaintext(
    path: Path, passphrase: str | None, ask: AskPassphrase | None
) -> Iterator[tuple[ArchiveReader, str | None]]:
    """The archive's tar.gz stream (decrypted when sealed, with ``passphrase`` or, when
    that is None, what ``ask`` returns), and the passphrase used."""
    try:
        raw: BinaryIO = path.open("rb")
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot be read: {exc.strerror}") from None
    with raw:
        head = raw.read(64)
        raw.seek(0)
        if is_sealed(head):
            if passphrase is None:
                if ask is None:
                    raise ArchiveError(path, "the archive is encrypted: a passphrase is needed")
                passphrase = ask()
            yield ArchiveReader(SealedReader(raw, passphrase, path), path), passphrase  # type: ignore[arg-type]
        elif head.startswith(_GZIP_MAGIC):
            yield ArchiveReader(raw, path), None
        elif not head:
            raise ArchiveError(path, "the file is empty")
        else:
            raise ArchiveError(path, "not a Rememora archive")


def _parse_lines(path: Path, name: str, data: bytes, parse: Callable[[object], Any]) -> list[Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArchiveError(path, f"{name}: not UTF-8 text") from None
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        if len(line) > MAX_LINE_BYTES:
            raise ArchiveError(path, f"{name}:{number}: a line longer than {MAX_LINE_BYTES} bytes")
        try:
            records.append(parse(json.loads(line)))
        except (ValueError, RecursionError) as exc:  # RecordError and JSONDecodeError too
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ArchiveError(path, f"{name}:{number}: {message or 'not valid JSON'}") from None
    return records


def _read_manifest(path: Path, reader: ArchiveReader) -> Manifest:
    first = reader.next_member(member_limit)
    if first is None or first[0] != MANIFEST:
        raise ArchiveError(path, f"not a Rememora archive ({MANIFEST} must come first)")
    try:
        return manifest_from_json(json.loads(reader.read_all().decode("utf-8")))
    except (RecordError, ValueError, RecursionError) as exc:
        raise ArchiveError(path, f"{MANIFEST}: {exc}") from None


def members_in_order(
    path: Path, reader: ArchiveReader, manifest: Manifest
) -> Iterator[tuple[MemberEntry, ArchiveReader]]:
    """Each listed member in turn, checked to be the next one the manifest names with its
    size; the caller reads its chunks (and checks its sha256)."""
    for entry in manifest.members:
        found = reader.next_member(member_limit)
        if found is None:
            raise ArchiveError(path, f"truncated: member {entry.name!r} is missing")
        if found != (entry.name, entry.size):
            raise ArchiveError(
                path, f"damaged: found member {found[0]!r} where the manifest lists {entry.name!r}"
            )
        yield entry, reader
    if reader.next_member(member_limit) is not None:
        raise ArchiveError(path, "damaged: a member the manifest does not list")
    reader.finish()


def _check_sha(path: Path, entry: MemberEntry, digest: str) -> None:
    if digest != entry.sha256:
        raise ArchiveError(path, f"damaged: {entry.name} does not match its sha256")


def verify_archive(
    path: Path, ask: AskPassphrase | None = None, progress: Progress = NULL_PROGRESS
) -> VerifiedArchive:
    """Read the whole archive once and check all of it (media are hashed, not kept)."""
    with open_plaintext(path, None, ask) as (reader, passphrase):
        manifest = _read_manifest(path, reader)
        if manifest.sealed != (passphrase is not None):
            raise ArchiveError(path, "damaged: the manifest does not say how it is encrypted")
        if [m.name for m in manifest.members[:3]] != list(RECORD_MEMBERS):
            raise ArchiveError(path, f"damaged: the manifest must list {', '.join(RECORD_MEMBERS)}")
        verified = VerifiedArchive(path, manifest, passphrase)
        total = manifest.total_bytes
        for entry, member in members_in_order(path, reader, manifest):
            check_cancelled(progress)
            if entry.name in RECORD_MEMBERS:
                data = member.read_all()
                _check_sha(path, entry, hashlib.sha256(data).hexdigest())
                _keep_records(verified, entry.name, data)
            else:
                digest = hashlib.sha256()
                for chunk in member.chunks():
                    digest.update(chunk)
                _check_sha(path, entry, digest.hexdigest())
            progress.update(reader.count, total, "verifying the archive")
    _check_consistent(verified)
    return verified


def _keep_records(verified: VerifiedArchive, name: str, data: bytes) -> None:
    path = verified.path
    if name == EVENTS:
        verified.events = _parse_lines(path, name, data, event_from_json)
    elif name == MEMORIES:
        verified.memories = _parse_lines(path, name, data, memory_from_json)
    elif name == HISTORY:
        for row in _parse_lines(path, name, data, history_from_json):
            verified.history.setdefault(row.memory_id, []).append(row)


def _check_consistent(verified: VerifiedArchive) -> None:
    path, manifest = verified.path, verified.manifest
    event_ids = [e.id for e in verified.events]
    if len(set(event_ids)) != len(event_ids):
        raise ArchiveError(path, f"{EVENTS}: an event id appears twice")
    memory_ids = {m.id for m in verified.memories}
    if len(memory_ids) != len(verified.memories):
        raise ArchiveError(path, f"{MEMORIES}: a memory id appears twice")
    if not set(verified.history) <= memory_ids:
        raise ArchiveError(path, f"{HISTORY}: a row names a memory the archive does not hold")
    found = {
        "events": len(verified.events),
        "memories": len(verified.memories),
        "history": sum(len(rows) for rows in verified.history.values()),
        "media": len(verified.media),
    }
    for key, count in found.items():
        if manifest.counts.get(key) != count:
            raise ArchiveError(
                path,
                f"damaged: the manifest counts {manifest.counts.get(key)} {key}, found {count}",
            )
    types = set(manifest.types)
    if any(m.type not in types for m in verified.memories):
        raise ArchiveError(path, f"{MEMORIES}: a memory of a type the manifest does not list")
    if not manifest.sealed and (
        MemoryType.VAULT in types or any(m.type is MemoryType.VAULT for m in verified.memories)
    ):
        raise ArchiveError(path, "vault entries in an unencrypted archive are refused")

"""`rememora export`: the store as one archive (core.archive.format), written to a
``.part`` file that is renamed into place only when complete, owner-only (0600).

Vault values never go into an unsealed archive: asking for ``vault`` without a passphrase
is refused, and an unsealed export of all types leaves the vault entries out (and says
how many). In a sealed archive they are in clear inside the encrypted stream.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

from core.archive.container import ArchiveWriter
from core.archive.format import (
    EVENTS,
    HISTORY,
    MANIFEST,
    MEDIA_PREFIX,
    MEMORIES,
    Manifest,
    MemberEntry,
    event_to_json,
    history_to_json,
    sha256_hex,
)
from core.archive.sealing import SealedWriter
from core.capture.frame_files import FrameFiles
from core.errors import InputFileError, StoreError
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import HistoryRow, Memory, MemoryType, dumps
from core.store.ledger import Ledger

Decrypt = Callable[[str], str]


def app_version() -> str:
    try:
        return metadata.version("rememora")
    except metadata.PackageNotFoundError:
        return "0.1.0"


@dataclass(frozen=True)
class ExportOptions:
    types: tuple[MemoryType, ...] = tuple(MemoryType)
    types_given: bool = False  # the user named the types (then vault is not dropped silently)
    since: datetime | None = None
    media: bool = True
    passphrase: str | None = None


@dataclass(frozen=True)
class ExportReport:
    path: Path
    events: int
    memories: int
    history: int
    media: int
    bytes: int
    sealed: bool
    vault_left_out: int

    def summary(self) -> str:
        sealed = "encrypted" if self.sealed else "not encrypted"
        text = (
            f"exported {self.memories} memories, {self.history} history rows, "
            f"{self.events} events and {self.media} screenshots to {self.path} "
            f"({self.bytes / 1e6:.1f} MB, {sealed})"
        )
        if self.vault_left_out:
            text += (
                f"; {self.vault_left_out} vault entries left out "
                "(vault values go only into an archive with --passphrase)"
            )
        return text


def _jsonl(records: Sequence[dict[str, object]]) -> bytes:
    return "".join(dumps(r) + "\n" for r in records).encode("utf-8")


def _vault_in_clear(
    snapshot: dict[str, object] | None, decrypt: Decrypt
) -> dict[str, object] | None:
    """A vault memory's JSON with its value decrypted (for a sealed archive only)."""
    if snapshot is None:
        return None
    fields = snapshot.get("fields")
    if snapshot.get("type") != MemoryType.VAULT.value or not isinstance(fields, dict):
        return snapshot
    if "value" not in fields:
        return snapshot
    return {**snapshot, "fields": {**fields, "value": decrypt(str(fields["value"]))}}


def _selected(memories: Sequence[Memory], since: datetime | None) -> list[Memory]:
    if since is None:
        return list(memories)
    return [
        m for m in memories if m.type is MemoryType.CORE or (m.event_time or m.created_at) >= since
    ]


def export_archive(
    ledger: Ledger,
    frames: FrameFiles,
    out: Path,
    options: ExportOptions,
    decrypt: Decrypt,
    embedding_model: str,
    now: datetime,
    progress: Progress = NULL_PROGRESS,
) -> ExportReport:
    if out.exists():
        raise InputFileError(out, "already exists; choose another name")
    if not out.parent.is_dir():
        raise InputFileError(out, "its folder does not exist")
    sealed = options.passphrase is not None
    types = tuple(dict.fromkeys(options.types))
    vault_left_out = 0
    if MemoryType.VAULT in types and not sealed:
        if options.types_given:
            raise InputFileError(
                out, "vault values go only into an encrypted archive: add --passphrase"
            )
        types = tuple(t for t in types if t is not MemoryType.VAULT)
        vault_left_out = ledger.count_memories()[MemoryType.VAULT]

    progress.update(0, None, "reading the store")
    events = ledger.events_since(options.since)
    memories = _selected(ledger.memories_in_order(types), options.since)
    history: list[HistoryRow] = []
    for memory in memories:
        history.extend(ledger.history(memory.id))
    memory_json = [m.to_json() for m in memories]
    history_json = [history_to_json(h) for h in history]
    if sealed:
        memory_json = [_vault_in_clear(m, decrypt) or m for m in memory_json]
        history_json = [
            {
                **h,
                "before": _vault_in_clear(h["before"], decrypt),  # type: ignore[arg-type]
                "after": _vault_in_clear(h["after"], decrypt),  # type: ignore[arg-type]
            }
            for h in history_json
        ]
    records = {
        EVENTS: _jsonl([event_to_json(e) for e in events]),
        MEMORIES: _jsonl(memory_json),
        HISTORY: _jsonl(history_json),
    }
    kept = frames.list(options.since.date() if options.since else None) if options.media else []
    entries = [MemberEntry(name, len(data), sha256_hex(data)) for name, data in records.items()]
    for done, frame in enumerate(kept, start=1):
        check_cancelled(progress)
        image = frames.read_bytes(frame.name)  # in clear: the archive seals its own stream
        entries.append(MemberEntry(MEDIA_PREFIX + frame.name, len(image), sha256_hex(image)))
        progress.update(done, len(kept), "hashing screenshots")
    manifest = Manifest(
        app_version=app_version(),
        created_at=now,
        embedding_model=embedding_model,
        types=types,
        since=options.since,
        media=options.media,
        sealed=sealed,
        counts={
            "events": len(events),
            "memories": len(memories),
            "history": len(history),
            "media": len(kept),
            **{f"memories.{t.value}": sum(m.type is t for m in memories) for t in types},
        },
        members=tuple(entries),
    )
    partial = out.with_name(out.name + ".part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            _write(raw, manifest, records, frames, now, options.passphrase, progress)
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ExportReport(
        out,
        len(events),
        len(memories),
        len(history),
        len(kept),
        out.stat().st_size,
        sealed,
        vault_left_out,
    )


class _CheckedFrame:
    """A frame's bytes, streamed and hashed; ``check`` compares them with the hash taken
    for the manifest (a frame that changed meanwhile fails the export)."""

    def __init__(self, frames: FrameFiles, entry: MemberEntry) -> None:
        self._frames = frames
        self._entry = entry
        self._name = entry.name.removeprefix(MEDIA_PREFIX)
        self._digest = hashlib.sha256()
        self._size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._frames.read(self._name):
            self._digest.update(chunk)
            self._size += len(chunk)
            yield chunk

    def check(self) -> None:
        if self._size != self._entry.size or self._digest.hexdigest() != self._entry.sha256:
            raise StoreError(f"screenshot {self._name} changed during the export; export again")


def _write(
    raw: BinaryIO,
    manifest: Manifest,
    records: dict[str, bytes],
    frames: FrameFiles,
    now: datetime,
    passphrase: str | None,
    progress: Progress,
) -> None:
    sealer = SealedWriter(raw, passphrase) if passphrase is not None else None
    writer = ArchiveWriter(sealer or raw, now)  # type: ignore[arg-type]
    writer.add_bytes(MANIFEST, json.dumps(manifest.to_json(), indent=1).encode("utf-8"))
    for name, data in records.items():
        writer.add_bytes(name, data)
    total = manifest.total_bytes
    written = 0
    for entry in manifest.members:
        if not entry.name.startswith(MEDIA_PREFIX):
            written += entry.size
            continue
        check_cancelled(progress)
        frame = _CheckedFrame(frames, entry)
        writer.add(entry.name, entry.size, frame)
        frame.check()
        written += entry.size
        progress.update(written, total, "writing the archive")
    writer.close()
    if sealer is not None:
        sealer.close()
    progress.update(total, total, "writing the archive")

"""`rememora import`: a verified archive (core.archive.verify) into the store, all or
nothing.

1. Media: the archive is read a second time (and checked again) and each screenshot the
   store lacks is sealed under this store's data key and written (core.capture.frame_files). Should anything later
   fail, the frames this import wrote are removed again.
2. Ledger: ONE unit of work adds the events (an event the log already has — same kind,
   time, speaker, source and text — is not added again: the archive's id maps to it),
   the memories (the same type, content hash and status as one the store has: the same
   memory, skipped; a core block whose name the store already has is updated to the
   archive's text), their history as it was plus an IMPORT row, and the media totals.
   Event and memory ids are mapped (a memory keeps its id unless the store uses it).
3. Chroma is derived: every imported memory is embedded again with the local embedder
   (the archive holds no vectors, so a different embedding model is no problem).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from core.archive.format import MEDIA_PREFIX, content_hash
from core.archive.verify import VerifiedArchive, member_limit, members_in_order, open_plaintext
from core.capture.frame_files import FrameFiles
from core.changes import Changes
from core.errors import ArchiveError
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import EventId, EventStatus, Memory, MemoryId, MemoryStatus, MemoryType, NewEvent
from core.store.ledger import Ledger
from core.store.write import StoreWrite
from core.store.writer import MemoryWriter, new_memory_id

Cipher = Callable[[str], str]


@dataclass(frozen=True)
class ImportReport:
    path: Path
    events_added: int
    events_skipped: int
    memories_added: int
    memories_skipped: int
    core_updated: int
    history_rows: int
    media_added: int
    media_skipped: int
    archive_embedder: str
    local_embedder: str
    types: tuple[MemoryType, ...] = ()
    reembedded: int = 0

    @property
    def changes(self) -> Changes:
        """What the GUI's views must refresh after this import."""
        wrote = self.memories_added or self.core_updated
        return Changes(
            memories=frozenset(self.types) if wrote else frozenset(),
            events=bool(self.events_added),
        )

    def summary(self) -> str:
        model = f"re-embedded {self.reembedded} memories with {self.local_embedder}" + (
            f" (the archive was made with {self.archive_embedder})"
            if self.archive_embedder != self.local_embedder
            else ""
        )
        return (
            f"imported {self.memories_added} memories ({self.memories_skipped} already here"
            + (f", {self.core_updated} core blocks updated" if self.core_updated else "")
            + f"), {self.history_rows} history rows, {self.events_added} events "
            f"({self.events_skipped} already here), {self.media_added} screenshots "
            f"({self.media_skipped} already here) from {self.path}; {model}"
        )


class _Frame:
    """One media member streamed into the media store, hashed on the way."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.digest = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.digest.update(chunk)
            yield chunk


def copy_media(
    archive: VerifiedArchive, frames: FrameFiles, written: list[tuple[str, int]], progress: Progress
) -> int:
    """Second pass: write the frames the store lacks (appending each to ``written``, so a
    failure can take them back); every member is checked against the manifest again."""
    skipped = 0
    media = archive.media
    with open_plaintext(archive.path, archive.passphrase, None) as (reader, _):
        reader.next_member(member_limit)  # the manifest, checked in the first pass
        reader.read_all()
        done = 0
        for entry, member in members_in_order(archive.path, reader, archive.manifest):
            check_cancelled(progress)
            name = entry.name.removeprefix(MEDIA_PREFIX)
            if not entry.name.startswith(MEDIA_PREFIX) or frames.has(name):
                digest = hashlib.sha256()
                for chunk in member.chunks():
                    digest.update(chunk)
                skipped += entry.name.startswith(MEDIA_PREFIX)
            else:
                frame = _Frame(member.chunks())
                size = frames.write(name, frame)
                written.append((name, size))
                digest = frame.digest
            if digest.hexdigest() != entry.sha256:
                raise ArchiveError(archive.path, f"{entry.name} changed while it was imported")
            if entry.name.startswith(MEDIA_PREFIX):
                done += 1
                progress.update(done, len(media), "copying screenshots")
    return skipped


class _Mapper:
    """Archive ids to store ids, and archive JSON snapshots to the store's."""

    def __init__(self, encrypt: Cipher) -> None:
        self.events: dict[EventId, EventId] = {}
        self.memories: dict[MemoryId, MemoryId] = {}
        self._encrypt = encrypt

    def event_ids(self, ids: Sequence[EventId]) -> tuple[EventId, ...]:
        return tuple(self.events[i] for i in ids if i in self.events)

    def fields(self, memory_type: MemoryType, fields: dict[str, str]) -> dict[str, str]:
        if memory_type is MemoryType.VAULT and "value" in fields:
            return {**fields, "value": self._encrypt(fields["value"])}
        return fields

    def snapshot(self, snap: dict[str, object] | None) -> dict[str, object] | None:
        if snap is None:
            return None
        out = dict(snap)
        out["id"] = self.memories.get(MemoryId(str(snap["id"])), snap["id"])
        if snap.get("successor_id"):
            out["successor_id"] = self.memories.get(
                MemoryId(str(snap["successor_id"])), snap["successor_id"]
            )
        ids = snap.get("source_event_ids")
        out["source_event_ids"] = list(self.event_ids(ids if isinstance(ids, list) else []))
        fields = snap.get("fields")
        if isinstance(fields, dict):
            out["fields"] = self.fields(MemoryType(str(snap["type"])), fields)
        return out


def _known(
    memories: MemoryWriter, types: Sequence[MemoryType], decrypt: Cipher
) -> dict[tuple[MemoryType, str, MemoryStatus], MemoryId]:
    known: dict[tuple[MemoryType, str, MemoryStatus], MemoryId] = {}
    for memory_type in types:
        for memory in memories.list_all(memory_type):
            fields = memory.fields
            if memory_type is MemoryType.VAULT and "value" in fields:
                fields = {**fields, "value": decrypt(fields["value"])}
            key = (memory_type, content_hash(memory_type, memory.text, fields), memory.status)
            known.setdefault(key, memory.id)
    return known


def _add_events(tx: StoreWrite, archive: VerifiedArchive, mapper: _Mapper) -> tuple[int, int]:
    # events whose raw records are not in the archive are recorded again by the next ingest
    has_records = MemoryType.EPISODIC in archive.manifest.types
    added = skipped = 0
    for event in archive.events:
        new = NewEvent(
            event.kind, event.text, event.occurred_at, event.speaker, event.source, event.payload
        )
        found = tx.events.find(new)
        if found is not None:
            mapper.events[event.id] = found
            skipped += 1
            continue
        status, attempts = (
            (event.status, event.attempts) if has_records else (EventStatus.PENDING, 0)
        )
        mapper.events[event.id] = tx.events.append_archived(new, status, attempts)
        added += 1
    return added, skipped


def write_ledger(
    tx: StoreWrite,
    archive: VerifiedArchive,
    encrypt: Cipher,
    decrypt: Cipher,
    media: Sequence[tuple[str, int]],
) -> tuple[int, int, int, int, int, int]:
    """The one unit of work; returns events added and skipped, memories added, skipped
    and core blocks updated, history rows written."""
    mapper = _Mapper(encrypt)
    events_added, events_skipped = _add_events(tx, archive, mapper)
    known = _known(tx.memories, archive.manifest.types, decrypt)
    blocks = {
        m.fields.get("block"): m
        for m in tx.memories.list_all(MemoryType.CORE)
        if m.status is MemoryStatus.ACTIVE and m.fields.get("block")
    }
    reason = f"imported from {archive.path.name}"
    to_restore: list[Memory] = []
    skipped = core_updated = 0
    taken: set[MemoryId] = set()
    for memory in archive.memories:
        key = (memory.type, content_hash(memory.type, memory.text, memory.fields), memory.status)
        if key in known:
            mapper.memories[memory.id] = known[key]
            skipped += 1
            continue
        block = blocks.get(memory.fields.get("block")) if memory.type is MemoryType.CORE else None
        if block is not None and memory.status is MemoryStatus.ACTIVE:
            updated = tx.memories.update(
                block,
                memory.text,
                memory.fields,
                mapper.event_ids(memory.source_event_ids),
                f"core block {memory.fields.get('block')!r} {reason}",
                actor="import",
            )
            mapper.memories[memory.id] = updated.id
            blocks[memory.fields.get("block")] = updated
            core_updated += 1
            continue
        new_id = memory.id
        if new_id in taken or tx.memories.exists(new_id):
            new_id = new_memory_id(memory.type)
        taken.add(new_id)
        mapper.memories[memory.id] = new_id
        known[key] = new_id
        to_restore.append(memory)
    history_rows = 0
    for memory in to_restore:
        successor = mapper.memories.get(memory.successor_id) if memory.successor_id else None
        restored = replace(
            memory,
            id=mapper.memories[memory.id],
            source_event_ids=mapper.event_ids(memory.source_event_ids),
            fields=mapper.fields(memory.type, memory.fields),
            successor_id=successor,
        )
        rows = [
            replace(
                row,
                memory_id=restored.id,
                before=mapper.snapshot(row.before),
                after=mapper.snapshot(row.after),
                source_event_ids=mapper.event_ids(row.source_event_ids),
            )
            for row in archive.history.get(memory.id, [])
        ]
        tx.memories.restore(restored, rows, reason)
        history_rows += len(rows) + 1
    if media:
        tx.counters.add_media(len(media), sum(size for _, size in media))
    return events_added, events_skipped, len(to_restore), skipped, core_updated, history_rows


def import_archive(
    ledger: Ledger,
    frames: FrameFiles,
    archive: VerifiedArchive,
    encrypt: Cipher,
    decrypt: Cipher,
    local_embedder: str,
    progress: Progress = NULL_PROGRESS,
) -> ImportReport:
    written: list[tuple[str, int]] = []
    try:
        media_skipped = copy_media(archive, frames, written, progress) if archive.media else 0
        check_cancelled(progress)
        progress.update(0, None, "importing memories")
        with ledger.write(actor="import") as tx:
            counts = write_ledger(tx, archive, encrypt, decrypt, written)
    except BaseException:
        for name, _size in written:
            frames.remove(name)
        raise
    events_added, events_skipped, added, skipped, core_updated, history_rows = counts
    return ImportReport(
        archive.path,
        events_added,
        events_skipped,
        added,
        skipped,
        core_updated,
        history_rows,
        len(written),
        media_skipped,
        archive.manifest.embedding_model,
        local_embedder,
        archive.manifest.types,
    )

"""What an export archive holds, and the limits an import holds it to.

Members, in this order:

- ``manifest.json``: format and version, app version, embedding model, when and how it
  was made (types, since, media, sealed), counts, and the size and sha256 of every other
  member, in order;
- ``events.jsonl``: the event log (one event a line, with its id in the source store);
- ``memories.jsonl``: every memory of the exported types, any status, in write order;
- ``history.jsonl``: the history rows of those memories;
- ``media/YYYY-MM-DD/<frame>.webp``: the kept screenshots (unless ``--no-media``).

Vault values are in the archive only when it is sealed with a passphrase (then in clear
inside the encrypted stream, and encrypted again with the importing store's key).

Every line is parsed into a typed record here; anything malformed raises
:class:`RecordError`, which the importer reports with the member and line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.records import (
    Event,
    EventId,
    EventKind,
    EventStatus,
    HistoryRow,
    Memory,
    MemoryId,
    MemoryStatus,
    MemoryType,
    dumps,
    from_iso,
    to_iso,
)

FORMAT = "rememora-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
EVENTS = "events.jsonl"
MEMORIES = "memories.jsonl"
HISTORY = "history.jsonl"
MEDIA_PREFIX = "media/"
RECORD_MEMBERS = (EVENTS, MEMORIES, HISTORY)

# -- limits (README "Privacy and security facts" lists them) -----------------------------
MAX_MANIFEST_BYTES = 1 << 20
MAX_RECORDS_BYTES = 256 << 20  # each of events / memories / history .jsonl
MAX_LINE_BYTES = 1 << 20
MAX_TEXT_CHARS = 100_000  # an event's or a memory's text (the same as a chat turn)
MAX_SHORT_CHARS = 1_000  # speaker, source, actor, reason, a field's name
MAX_FIELDS = 64
MAX_MEDIA_BYTES = 64 << 20  # one screenshot
MAX_MEMBERS = 1_000_000
MAX_TOTAL_BYTES = 256 << 30  # everything in one archive, decompressed

_MEMORY_ID = re.compile(r"(cor|epi|sem|pro|res|vlt)-[0-9a-f]{10}")


class RecordError(ValueError):
    """A line of an archive member that is not what the format says."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class MemberEntry:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    app_version: str
    created_at: datetime
    embedding_model: str
    types: tuple[MemoryType, ...]
    since: datetime | None
    media: bool
    sealed: bool
    counts: dict[str, int]
    members: tuple[MemberEntry, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app_version": self.app_version,
            "created_at": to_iso(self.created_at),
            "embedding_model": self.embedding_model,
            "types": [t.value for t in self.types],
            "since": to_iso(self.since) if self.since else None,
            "media": self.media,
            "sealed": self.sealed,
            "counts": self.counts,
            "members": [{"name": m.name, "size": m.size, "sha256": m.sha256} for m in self.members],
        }

    @property
    def total_bytes(self) -> int:
        return sum(m.size for m in self.members)


# -- reading, strictly --------------------------------------------------------------------
def _str(record: dict[str, Any], key: str, limit: int = MAX_SHORT_CHARS) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise RecordError(f"field {key!r} must be a string")
    if len(value) > limit:
        raise RecordError(f"field {key!r} is longer than {limit} characters")
    return value


def _opt_str(record: dict[str, Any], key: str) -> str | None:
    return None if record.get(key) is None else _str(record, key)


def _int(record: dict[str, Any], key: str, low: int = 0, high: int = 2**53) -> int:
    value = record.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RecordError(f"field {key!r} must be a whole number from {low} to {high}")
    return value


def _float(record: dict[str, Any], key: str) -> float:
    value = record.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
        raise RecordError(f"field {key!r} must be a number")
    if not -1e9 <= value <= 1e9:
        raise RecordError(f"field {key!r} is out of range")
    return float(value)


def _time(record: dict[str, Any], key: str) -> datetime:
    value = _str(record, key, 64)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"field {key!r} is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise RecordError(f"field {key!r} has no time zone")
    return from_iso(value)


def _opt_time(record: dict[str, Any], key: str) -> datetime | None:
    return None if record.get(key) is None else _time(record, key)


def _enum(record: dict[str, Any], key: str, kind: type[Any]) -> Any:
    value = _str(record, key, 64)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(item.value for item in kind)
        raise RecordError(f"field {key!r} is {value!r}; allowed: {allowed}") from None


def _str_map(record: dict[str, Any], key: str) -> dict[str, str]:
    value = record.get(key)
    if not isinstance(value, dict) or len(value) > MAX_FIELDS:
        raise RecordError(f"field {key!r} must be an object of at most {MAX_FIELDS} strings")
    for name, item in value.items():
        if len(name) > MAX_SHORT_CHARS or not isinstance(item, str) or len(item) > MAX_TEXT_CHARS:
            raise RecordError(f"field {key!r}.{name[:40]!r} must be a string")
    return dict(value)


def _event_ids(record: dict[str, Any], key: str) -> tuple[EventId, ...]:
    value = record.get(key)
    if not isinstance(value, list) or len(value) > 100_000:
        raise RecordError(f"field {key!r} must be a list of event ids")
    for item in value:
        if not isinstance(item, int) or isinstance(item, bool) or not 0 < item < 2**53:
            raise RecordError(f"field {key!r} must be a list of event ids")
    return tuple(EventId(i) for i in value)


def _memory_id(value: object, key: str) -> MemoryId:
    if not isinstance(value, str) or not _MEMORY_ID.fullmatch(value):
        raise RecordError(f"field {key!r} is not a memory id")
    return MemoryId(value)


def _object(record: object) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise RecordError("expected a JSON object")
    return record


def event_to_json(event: Event) -> dict[str, object]:
    return {
        "id": event.id,
        "kind": event.kind.value,
        "text": event.text,
        "occurred_at": to_iso(event.occurred_at),
        "speaker": event.speaker,
        "source": event.source,
        "payload": event.payload,
        "status": event.status.value,
        "attempts": event.attempts,
    }


def event_from_json(raw: object) -> Event:
    record = _object(raw)
    return Event(
        id=EventId(_int(record, "id", 1)),
        kind=_enum(record, "kind", EventKind),
        text=_str(record, "text", MAX_TEXT_CHARS),
        occurred_at=_time(record, "occurred_at"),
        speaker=_opt_str(record, "speaker"),
        source=_str(record, "source"),
        payload=_str_map(record, "payload"),
        status=_enum(record, "status", EventStatus),
        attempts=_int(record, "attempts", 0, 1_000_000),
    )


def memory_from_json(raw: object) -> Memory:
    record = _object(raw)
    memory_type = _enum(record, "type", MemoryType)
    memory_id = _memory_id(record.get("id"), "id")
    if not memory_id.startswith(memory_type.id_prefix + "-"):
        raise RecordError(f"memory id {memory_id!r} does not match its type {memory_type.value}")
    successor = record.get("successor_id")
    return Memory(
        id=memory_id,
        type=memory_type,
        text=_str(record, "text", MAX_TEXT_CHARS),
        created_at=_time(record, "created_at"),
        updated_at=_time(record, "updated_at"),
        event_time=_opt_time(record, "event_time"),
        source_event_ids=_event_ids(record, "source_event_ids"),
        importance=_float(record, "importance"),
        strength=_float(record, "strength"),
        access_count=_int(record, "access_count", 0, 2**40),
        last_accessed_at=_opt_time(record, "last_accessed_at"),
        version=_int(record, "version", 1, 2**40),
        status=_enum(record, "status", MemoryStatus),
        sensitivity=_str(record, "sensitivity", 64),
        fields=_str_map(record, "fields"),
        successor_id=None if successor is None else _memory_id(successor, "successor_id"),
    )


def history_to_json(row: HistoryRow) -> dict[str, object]:
    return {
        "memory_id": row.memory_id,
        "op": row.op,
        "before": row.before,
        "after": row.after,
        "actor": row.actor,
        "reason": row.reason,
        "source_event_ids": list(row.source_event_ids),
        "at": to_iso(row.at),
    }


def _snapshot(record: dict[str, Any], key: str) -> dict[str, object] | None:
    value = record.get(key)
    if value is None:
        return None
    memory_from_json(value)  # a snapshot is a memory as it was: checked the same way
    return _object(value)


def history_from_json(raw: object) -> HistoryRow:
    record = _object(raw)
    op = _str(record, "op", 32)
    if not re.fullmatch(r"[A-Z_]{1,32}", op):
        raise RecordError(f"field 'op' is {op!r}; expected an operation such as ADD")
    return HistoryRow(
        id=0,
        memory_id=_memory_id(record.get("memory_id"), "memory_id"),
        op=op,
        before=_snapshot(record, "before"),
        after=_snapshot(record, "after"),
        actor=_str(record, "actor"),
        reason=_str(record, "reason", MAX_TEXT_CHARS),
        source_event_ids=_event_ids(record, "source_event_ids"),
        at=_time(record, "at"),
    )


def manifest_from_json(raw: object) -> Manifest:
    record = _object(raw)
    if record.get("format") != FORMAT:
        raise RecordError("not a Rememora archive manifest")
    version = record.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise RecordError("the format version is missing")
    if version > FORMAT_VERSION:
        raise RecordError(
            f"written by a newer Rememora (archive format {version}; this one reads "
            f"{FORMAT_VERSION}): upgrade first"
        )
    if version < 1:
        raise RecordError(f"unknown archive format {version}")
    types = record.get("types")
    if not isinstance(types, list) or len(types) > len(MemoryType):
        raise RecordError("field 'types' must be a list of memory types")
    counts = record.get("counts")
    if not isinstance(counts, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in counts.items()
    ):
        raise RecordError("field 'counts' must map names to counts")
    members = record.get("members")
    if not isinstance(members, list) or len(members) > MAX_MEMBERS:
        raise RecordError(f"field 'members' must be a list of at most {MAX_MEMBERS} members")
    entries = []
    for item in members:
        member = _object(item)
        digest = _str(member, "sha256", 64)
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise RecordError("a member's sha256 is not 64 hex digits")
        entries.append(
            MemberEntry(_str(member, "name", 255), _int(member, "size", 0, MAX_TOTAL_BYTES), digest)
        )
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise RecordError("a member is listed twice")
    for flag in ("media", "sealed"):
        if not isinstance(record.get(flag), bool):
            raise RecordError(f"field {flag!r} must be true or false")
    manifest = Manifest(
        app_version=_str(record, "app_version", 64),
        created_at=_time(record, "created_at"),
        embedding_model=_str(record, "embedding_model", 200),
        types=tuple(_enum({"type": t}, "type", MemoryType) for t in types),
        since=_opt_time(record, "since"),
        media=bool(record["media"]),
        sealed=bool(record["sealed"]),
        counts=dict(counts),
        members=tuple(entries),
    )
    if manifest.total_bytes > MAX_TOTAL_BYTES:
        raise RecordError(f"the archive is bigger than {MAX_TOTAL_BYTES} bytes")
    return manifest


def content_hash(memory_type: MemoryType, text: str, fields: dict[str, str]) -> str:
    """What makes two memories the same for an import: type, text and fields (a vault
    entry's value in clear, so the same secret under two keys still matches)."""
    return sha256_hex(dumps({"type": memory_type.value, "text": text, "fields": fields}).encode())

"""Typed records that cross the service API: events, memories, history rows, search hits."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NewType

from core.errors import UnknownMemoryTypeError

MemoryId = NewType("MemoryId", str)
EventId = NewType("EventId", int)


class MemoryType(str, enum.Enum):
    """The six MIRIX memory types; the values are the ids users type."""

    CORE = "core"
    EPISODIC = "episodic"
    SEMANTIC = "semantic"
    PROCEDURAL = "procedural"
    RESOURCE = "resource"
    VAULT = "vault"

    @classmethod
    def parse(cls, name: str) -> MemoryType:
        try:
            return cls(name)
        except ValueError:
            raise UnknownMemoryTypeError(name, [t.value for t in cls]) from None

    @property
    def id_prefix(self) -> str:
        return {
            "core": "cor",
            "episodic": "epi",
            "semantic": "sem",
            "procedural": "pro",
            "resource": "res",
            "vault": "vlt",
        }[self.value]


class MemoryStatus(str, enum.Enum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    ARCHIVED = "archived"
    DELETED = "deleted"


class EventKind(str, enum.Enum):
    CHAT = "chat"
    SCREEN = "screen"
    IMPORT = "import"


class EventStatus(str, enum.Enum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Rememora stores aware times only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class NewEvent:
    """An observation before it is appended to the event log."""

    kind: EventKind
    text: str
    occurred_at: datetime
    speaker: str | None = None
    source: str = ""
    payload: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    id: EventId
    kind: EventKind
    text: str
    occurred_at: datetime
    speaker: str | None
    source: str
    payload: dict[str, str]
    status: EventStatus
    attempts: int


@dataclass(frozen=True)
class Memory:
    """A memory row. ``text`` is what is embedded and searched; ``fields`` holds the
    type's own keys (for example ``block`` for core, ``actor`` for episodic)."""

    id: MemoryId
    type: MemoryType
    text: str
    created_at: datetime
    updated_at: datetime
    event_time: datetime | None
    source_event_ids: tuple[EventId, ...]
    importance: float
    strength: float
    access_count: int
    last_accessed_at: datetime | None
    version: int
    status: MemoryStatus
    sensitivity: str
    fields: dict[str, str]
    successor_id: MemoryId | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON object `rememora memories list --json` prints."""
        return {
            "id": self.id,
            "type": self.type.value,
            "text": self.text,
            "created_at": to_iso(self.created_at),
            "updated_at": to_iso(self.updated_at),
            "event_time": to_iso(self.event_time) if self.event_time else None,
            "source_event_ids": list(self.source_event_ids),
            "importance": self.importance,
            "strength": self.strength,
            "access_count": self.access_count,
            "last_accessed_at": to_iso(self.last_accessed_at) if self.last_accessed_at else None,
            "version": self.version,
            "status": self.status.value,
            "sensitivity": self.sensitivity,
            "successor_id": self.successor_id,
            "fields": self.fields,
        }


@dataclass(frozen=True)
class NewMemory:
    type: MemoryType
    text: str
    event_time: datetime | None
    source_event_ids: tuple[EventId, ...]
    fields: dict[str, str] = field(default_factory=dict)
    importance: float = 0.5
    sensitivity: str = "normal"


@dataclass(frozen=True)
class HistoryRow:
    id: int
    memory_id: MemoryId
    op: str
    before: dict[str, object] | None
    after: dict[str, object] | None
    actor: str
    reason: str
    source_event_ids: tuple[EventId, ...]
    at: datetime


@dataclass(frozen=True)
class SearchHit:
    memory: Memory
    score: float
    dense_rank: int | None
    lexical_rank: int | None


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)

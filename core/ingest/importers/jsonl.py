"""JSON lines chats. The reader validates the whole file before anything is written:
a bad line names its line number and field, and nothing from that file is imported.

JSON lines: one object per line, ``{"speaker": str, "text": str, "time": ISO 8601}``;
``time`` may be omitted (the import time is used) and blank lines are skipped. A time
without a zone is taken as local time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from core.errors import InputFileError
from core.ingest.importers._common import check_size, check_turn
from core.records import EventKind, NewEvent, utcnow


def _parse_time(value: object, path: Path, line: int) -> datetime:
    if not isinstance(value, str):
        raise InputFileError(path, "field 'time' must be an ISO 8601 string", line)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if not moment.tzinfo:
            moment = moment.astimezone()
        moment.astimezone(UTC)  # a time at the edge of the calendar cannot be stored
    except (ValueError, OverflowError, OSError):
        raise InputFileError(
            path, f"field 'time' is not an ISO 8601 time: {value!r}", line
        ) from None
    return moment


def _text_field(record: dict[str, object], key: str, path: Path, line: int) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputFileError(path, f"field {key!r} must be a non-empty string", line)
    return value.strip()


def read_jsonl_chat(path: Path) -> list[NewEvent]:
    check_size(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except OSError as exc:
        raise InputFileError(path, f"cannot be read: {exc.strerror}") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(path, "not UTF-8 text") from None
    imported_at = utcnow()
    events: list[NewEvent] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(path, f"not valid JSON ({exc.msg})", number) from None
        except (ValueError, RecursionError):  # digits past Python's limit, deep nesting
            raise InputFileError(
                path, "not JSON this reader takes (too deep or too long a number)", number
            ) from None
        if not isinstance(record, dict):
            raise InputFileError(path, "expected a JSON object", number)
        speaker = _text_field(record, "speaker", path, number)
        text = _text_field(record, "text", path, number)
        when = _parse_time(record["time"], path, number) if "time" in record else imported_at
        check_turn(path, f"line {number}", speaker, text, len(events))
        events.append(
            NewEvent(
                kind=EventKind.IMPORT,
                text=text,
                occurred_at=when,
                speaker=speaker,
                source=f"import:{path.name}",
            )
        )
    if not events:
        raise InputFileError(path, "holds no chat turns")
    return events

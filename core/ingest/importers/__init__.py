"""Chat importers, chosen by content: a ChatGPT ``conversations.json`` export, a
LOCOMO-format file, or JSON lines. Each reader validates the whole file first; an error
names the field (and line, for JSON lines) that is wrong, and nothing from the file is
imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.ingest.importers._common import (
    MAX_FILE_BYTES,
    MAX_SPEAKER_CHARS,
    MAX_TURN_CHARS,
    MAX_TURNS,
    check_size,
)
from core.ingest.importers.chatgpt import read_chatgpt_export
from core.ingest.importers.jsonl import read_jsonl_chat
from core.ingest.importers.locomo import read_locomo
from core.records import NewEvent

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_SPEAKER_CHARS",
    "MAX_TURNS",
    "MAX_TURN_CHARS",
    "read_chat_file",
    "read_chatgpt_export",
    "read_jsonl_chat",
    "read_locomo",
]


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):  # JSON lines, or not JSON: read as such
        return None


def read_chat_file(path: Path) -> list[NewEvent]:
    check_size(path)
    document = _load_json(path)
    if isinstance(document, dict) and "conversation" in document:
        document = [document]
    if isinstance(document, list) and document and isinstance(document[0], dict):
        if "mapping" in document[0]:
            return read_chatgpt_export(path, document)
        if "conversation" in document[0]:
            return read_locomo(path, document)
    return read_jsonl_chat(path)

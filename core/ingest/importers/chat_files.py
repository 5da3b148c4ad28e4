"""Chat files `rememora import-chat` reads, chosen by content: a ChatGPT
``conversations.json`` export, a LOCOMO-format file, or JSON lines (core.ingest.importers.jsonl).
Each reader validates the whole file first; an error names the field (and line, for JSON
lines) that is wrong, and nothing from the file is imported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import InputFileError
from core.ingest.importers.jsonl import read_jsonl_chat
from core.records import EventKind, NewEvent

LOCOMO_TIME = "%I:%M %p on %d %B, %Y"
LOCOMO_TURN_STEP = timedelta(seconds=30)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def read_chat_file(path: Path) -> list[NewEvent]:
    document = _load_json(path)
    if isinstance(document, dict) and "conversation" in document:
        document = [document]
    if isinstance(document, list) and document and isinstance(document[0], dict):
        if "mapping" in document[0]:
            return read_chatgpt_export(path, document)
        if "conversation" in document[0]:
            return read_locomo(path, document)
    return read_jsonl_chat(path)


def _fail(path: Path, where: str, message: str) -> InputFileError:
    return InputFileError(path, f"{where}: {message}")


def _thread(path: Path, where: str, conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation's current branch, root first (the export stores a tree)."""
    mapping = conversation.get("mapping")
    if not isinstance(mapping, dict):
        raise _fail(path, f"{where}.mapping", "must be an object")
    node_id = conversation.get("current_node")
    if node_id is None:  # no current node: follow first children from the root
        roots = [k for k, v in mapping.items() if isinstance(v, dict) and not v.get("parent")]
        node_id = roots[0] if roots else None
        while node_id is not None and mapping[node_id].get("children"):
            node_id = mapping[node_id]["children"][0]
    nodes: list[dict[str, Any]] = []
    seen: set[str] = set()
    while node_id is not None:
        if node_id in seen or node_id not in mapping or not isinstance(mapping[node_id], dict):
            raise _fail(path, f"{where}.mapping[{node_id!r}]", "missing or part of a cycle")
        seen.add(node_id)
        nodes.append(mapping[node_id])
        node_id = mapping[node_id].get("parent")
    return list(reversed(nodes))


def read_chatgpt_export(path: Path, conversations: list[Any]) -> list[NewEvent]:
    events: list[NewEvent] = []
    for number, conversation in enumerate(conversations):
        where = f"conversation [{number}]"
        if not isinstance(conversation, dict):
            raise _fail(path, where, "must be an object")
        fallback = conversation.get("create_time")
        for node in _thread(path, where, conversation):
            message = node.get("message")
            if not message:
                continue
            node_where = f"{where}.mapping[{node.get('id')!r}].message"
            role = (message.get("author") or {}).get("role")
            if role not in ("user", "assistant"):
                continue
            parts = (message.get("content") or {}).get("parts")
            if not isinstance(parts, list):
                raise _fail(path, f"{node_where}.content.parts", "must be a list")
            text = "\n".join(p for p in parts if isinstance(p, str)).strip()
            if not text:
                continue
            stamp = message.get("create_time") or fallback
            if not isinstance(stamp, (int, float)):
                raise _fail(path, f"{node_where}.create_time", "must be a Unix time")
            events.append(
                NewEvent(
                    EventKind.IMPORT,
                    text,
                    datetime.fromtimestamp(stamp, UTC),
                    role,
                    source=f"import:{path.name}",
                )
            )
    if not events:
        raise InputFileError(path, "holds no chat turns")
    return events


def read_locomo(path: Path, samples: list[Any]) -> list[NewEvent]:
    events: list[NewEvent] = []
    for number, sample in enumerate(samples):
        where = f"sample [{number}].conversation"
        conversation = sample.get("conversation") if isinstance(sample, dict) else None
        if not isinstance(conversation, dict):
            raise _fail(path, where, "must be an object")
        sessions = sorted(
            (int(k.split("_")[1]), k)
            for k in conversation
            if k.startswith("session_")
            and k.split("_")[1].isdigit()
            and not k.endswith("date_time")
        )
        label = sample.get("sample_id", str(number))
        for _, key in sessions:
            turns = conversation[key]
            stamp = conversation.get(f"{key}_date_time")
            try:
                start = datetime.strptime(str(stamp), LOCOMO_TIME).replace(tzinfo=UTC)
            except ValueError:
                raise _fail(
                    path,
                    f"{where}.{key}_date_time",
                    f"expected a time like '1:56 pm on 8 May, 2023', got {stamp!r}",
                ) from None
            if not isinstance(turns, list):
                raise _fail(path, f"{where}.{key}", "must be a list of turns")
            for index, turn in enumerate(turns):
                turn_where = f"{where}.{key}[{index}]"
                if not isinstance(turn, dict):
                    raise _fail(path, turn_where, "must be an object")
                for field in ("speaker", "text"):
                    if not isinstance(turn.get(field), str) or not turn[field].strip():
                        raise _fail(path, f"{turn_where}.{field}", "must be a non-empty string")
                text = turn["text"].strip()
                if isinstance(turn.get("blip_caption"), str):
                    text += f" [shares a photo: {turn['blip_caption']}]"
                events.append(
                    NewEvent(
                        EventKind.IMPORT,
                        text,
                        start + index * LOCOMO_TURN_STEP,
                        turn["speaker"].strip(),
                        source=f"import:{path.name}:{label}",
                        payload={"dia_id": str(turn.get("dia_id", ""))},
                    )
                )
    if not events:
        raise InputFileError(path, "holds no chat turns")
    return events

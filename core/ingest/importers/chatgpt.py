"""ChatGPT's ``conversations.json`` export: each conversation's current branch of its
message tree, user and assistant turns only, with the message's own Unix time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import InputFileError
from core.ingest.importers._common import field_error as _fail
from core.records import EventKind, NewEvent


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

"""ChatGPT's ``conversations.json`` export: each conversation's current branch of its
message tree, user and assistant turns only, with the message's own Unix time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import InputFileError
from core.ingest.importers._common import check_turn
from core.ingest.importers._common import field_error as _fail
from core.records import EventKind, NewEvent


def _node_id(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _thread(path: Path, where: str, conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation's current branch, root first (the export stores a tree)."""
    mapping = conversation.get("mapping")
    if not isinstance(mapping, dict):
        raise _fail(path, f"{where}.mapping", "must be an object")
    for key, node in mapping.items():
        if not isinstance(node, dict):
            raise _fail(path, f"{where}.mapping[{key[:40]!r}]", "must be an object")
    if (
        conversation.get("current_node") is not None
        and _node_id(conversation.get("current_node")) is None
    ):
        raise _fail(path, f"{where}.current_node", "must be a node id")
    node_id = _node_id(conversation.get("current_node"))
    if node_id is None:  # no current node: follow first children from the root
        roots = [k for k, v in mapping.items() if not v.get("parent")]
        node_id = roots[0] if roots else None
        seen_down: set[str] = set()
        while node_id is not None and node_id in mapping and node_id not in seen_down:
            seen_down.add(node_id)
            children = mapping[node_id].get("children")
            if not isinstance(children, list) or not children:
                break
            node_id = _node_id(children[0])
    nodes: list[dict[str, Any]] = []
    seen: set[str] = set()
    while node_id is not None:
        if node_id in seen or node_id not in mapping:
            raise _fail(path, f"{where}.mapping[{node_id[:40]!r}]", "missing or part of a cycle")
        seen.add(node_id)
        nodes.append(mapping[node_id])
        parent = mapping[node_id].get("parent")
        if parent is not None and _node_id(parent) is None:
            raise _fail(path, f"{where}.mapping[{node_id[:40]!r}].parent", "must be a node id")
        node_id = _node_id(parent)
    return list(reversed(nodes))


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _time(path: Path, where: str, stamp: object) -> datetime:
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        raise _fail(path, where, "must be a Unix time")
    try:
        return datetime.fromtimestamp(stamp, UTC)
    except (ValueError, OverflowError, OSError):
        raise _fail(path, where, f"{stamp!r} is not a Unix time Rememora can store") from None


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
            node_where = f"{where}.mapping[{str(node.get('id'))[:40]!r}].message"
            if not isinstance(message, dict):
                raise _fail(path, node_where, "must be an object")
            role = _object(message.get("author")).get("role")
            if role not in ("user", "assistant"):
                continue
            parts = _object(message.get("content")).get("parts")
            if not isinstance(parts, list):
                raise _fail(path, f"{node_where}.content.parts", "must be a list")
            text = "\n".join(p for p in parts if isinstance(p, str)).strip()
            if not text:
                continue
            when = _time(path, f"{node_where}.create_time", message.get("create_time") or fallback)
            check_turn(path, node_where, role, text, len(events))
            events.append(
                NewEvent(EventKind.IMPORT, text, when, role, source=f"import:{path.name}")
            )
    if not events:
        raise InputFileError(path, "holds no chat turns")
    return events

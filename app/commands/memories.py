"""`rememora memories list|history|private`."""

from __future__ import annotations

import argparse
import json

from app.commands.subparsers import Subparsers
from core.records import MemoryId, MemoryType
from core.retrieval.private import is_private
from core.service import Service


def register(commands: Subparsers) -> None:
    memories = commands.add_parser("memories", help="inspect memories").add_subparsers(
        dest="memories_command", metavar="ACTION", required=True
    )
    listing = memories.add_parser("list", help="list memories")
    listing.add_argument(
        "--type",
        dest="memory_type",
        metavar="T",
        help="one of: " + ", ".join(t.value for t in MemoryType),
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.add_argument("--all", action="store_true", help="include superseded and archived")
    listing.set_defaults(handler=list_memories)
    hist = memories.add_parser("history", help="a memory's versions")
    hist.add_argument("memory_id")
    hist.set_defaults(handler=history)
    private = memories.add_parser(
        "private",
        help="mark a memory private: answers use it only when a question names its subject",
    )
    private.add_argument("memory_id")
    private.add_argument("--off", action="store_true", help="make it an ordinary memory again")
    private.set_defaults(handler=mark_private)


def list_memories(service: Service, args: argparse.Namespace) -> int:
    memory_type = MemoryType.parse(args.memory_type) if args.memory_type else None
    for memory in service.list_memories(memory_type, include_inactive=args.all):
        if args.json:
            print(json.dumps(memory.to_json(), ensure_ascii=False))
            continue
        when = (memory.event_time or memory.created_at).astimezone().strftime("%Y-%m-%d %H:%M")
        status = f" [{memory.status.value}]" if args.all else ""
        status += " (private)" if is_private(memory) else ""
        text = memory.text if len(memory.text) <= 100 else memory.text[:99] + "…"
        print(f"{memory.id}  {memory.type.value:<10} {when}{status}  {text}")
    return 0


def mark_private(service: Service, args: argparse.Namespace) -> int:
    """A change with its history row (actor ``user``); saying so again changes nothing."""
    memory = service.set_private(MemoryId(args.memory_id), not args.off)
    state = "private" if is_private(memory) else "not private"
    print(f"{memory.id} is {state} (v{memory.version}): {memory.text[:80]}")
    return 0


def history(service: Service, args: argparse.Namespace) -> int:
    """Each change with the version it produced, who made it, why and from which events."""
    for row in service.history(MemoryId(args.memory_id)):
        snapshot = row.after or row.before or {}
        version = snapshot.get("version", "?")
        status = snapshot.get("status", "")
        sources = ",".join(str(i) for i in row.source_event_ids) or "-"
        print(
            f"{row.at.astimezone():%Y-%m-%d %H:%M:%S}  {row.op:<9} v{version} [{status}] "
            f"by {row.actor} (events {sources}): {row.reason}"
        )
        if row.before and row.after and row.before.get("text") != row.after.get("text"):
            print(f"    before: {row.before.get('text')}")
        if row.after:
            print(f"    text:   {row.after.get('text')}")
        if row.after and row.after.get("successor_id"):
            print(f"    superseded by {row.after['successor_id']}")
    return 0

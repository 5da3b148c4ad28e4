"""The `rememora` command. With no command it starts the desktop app.

Every error a user can cause prints one line, ``rememora: error: …``, and exits non-zero
without changing the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from app.progress_bar import TerminalProgress
from core.errors import RememoraError
from core.paths import resolve_data_dir
from core.records import MemoryId, MemoryType
from core.service import Service


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rememora", description="Rememora: a private memory of what you chat and see.")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="data directory (default: $REMEMORA_DATA_DIR or the platform's)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = commands.add_parser("chat", help="add chat turns").add_subparsers(
        dest="chat_command", metavar="ACTION", required=True)
    add = chat.add_parser("add", help="record one chat turn")
    add.add_argument("--speaker", required=True, help="who said it")
    add.add_argument("text", help="what was said")

    imp = commands.add_parser("import-chat", help="import a chat file (JSON lines)")
    imp.add_argument("file", type=Path)

    ask = commands.add_parser("ask", help="ask a question about your past")
    ask.add_argument("question")

    memories = commands.add_parser("memories", help="inspect memories").add_subparsers(
        dest="memories_command", metavar="ACTION", required=True)
    listing = memories.add_parser("list", help="list memories")
    listing.add_argument("--type", dest="memory_type", metavar="T",
                         help="one of: " + ", ".join(t.value for t in MemoryType))
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.add_argument("--all", action="store_true", help="include superseded and archived")
    hist = memories.add_parser("history", help="a memory's versions")
    hist.add_argument("memory_id")

    commands.add_parser("ingest", help="process pending events into memories")
    commands.add_parser("status", help="counts per type, store size, model in use")
    doctor = commands.add_parser("doctor", help="check models, store and lock")
    doctor.add_argument("--reindex", action="store_true", help="rebuild Chroma from the ledger")
    commands.add_parser("gui", help="start the desktop app (the default)")
    return parser


def _print_memories(service: Service, args: argparse.Namespace) -> None:
    memory_type = MemoryType.parse(args.memory_type) if args.memory_type else None
    for memory in service.list_memories(memory_type, include_inactive=args.all):
        if args.json:
            print(json.dumps(memory.to_json(), ensure_ascii=False))
            continue
        when = (memory.event_time or memory.created_at).astimezone().strftime("%Y-%m-%d %H:%M")
        status = f" [{memory.status.value}]" if args.all else ""
        text = memory.text if len(memory.text) <= 100 else memory.text[:99] + "…"
        print(f"{memory.id}  {memory.type.value:<10} {when}{status}  {text}")


def _ask(service: Service, question: str) -> None:
    def show(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    with TerminalProgress() as progress:
        def on_token(piece: str) -> None:
            progress.stop()
            show(piece)

        result = service.ask(question, on_token, progress)
    print()
    if result.cited:
        print("cited: " + ", ".join(result.cited))
    elif result.context:
        print("memories used: " + ", ".join(result.context))


def _status(service: Service) -> None:
    report = service.status()
    print(f"data directory: {report.data_dir}")
    print(f"store size: {report.store_bytes / 1e6:.1f} MB")
    print(f"model: {report.llm}   embedder: {report.embedder}")
    print("memories: " + ", ".join(f"{t.value} {n}" for t, n in report.memories.items()))
    events = report.events
    print(f"events: {sum(events.values())} ({events.get('pending', 0)} pending, "
          f"{events.get('failed', 0)} failed)")


def _doctor(service: Service, reindex: bool) -> int:
    with TerminalProgress() as progress:
        checks = service.doctor(reindex=reindex, progress=progress)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1


def run(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    if args.command in (None, "gui"):
        from app.gui.main import run_gui

        return run_gui(data_dir)
    with Service(data_dir) as service:
        if args.command == "chat":
            event_id = service.add_chat_turn(args.speaker, args.text)
            print(f"recorded event {event_id}")
        elif args.command == "import-chat":
            ids = service.import_chat(args.file)
            print(f"imported {len(ids)} chat turns from {args.file}")
        elif args.command == "ask":
            _ask(service, args.question)
        elif args.command == "memories" and args.memories_command == "list":
            _print_memories(service, args)
        elif args.command == "memories" and args.memories_command == "history":
            for row in service.history(MemoryId(args.memory_id)):
                after = row.after["text"] if row.after else ""
                print(f"{row.at.astimezone():%Y-%m-%d %H:%M:%S}  {row.op:<10} by {row.actor}: {after}")
        elif args.command == "ingest":
            with TerminalProgress() as progress:
                report = service.ingest(progress)
            print(report.summary())
        elif args.command == "status":
            _status(service)
        elif args.command == "doctor":
            return _doctor(service, args.reindex)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except RememoraError as error:
        print(f"rememora: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("rememora: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

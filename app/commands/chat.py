"""`rememora chat add`, `import-chat`, `ingest`, `ask`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.commands.subparsers import Subparsers
from app.progress_bar import TerminalProgress
from core.service import Service


def register(commands: Subparsers) -> None:
    chat = commands.add_parser("chat", help="add chat turns").add_subparsers(
        dest="chat_command", metavar="ACTION", required=True
    )
    add = chat.add_parser("add", help="record one chat turn")
    add.add_argument("--speaker", required=True, help="who said it")
    add.add_argument("text", help="what was said")
    add.set_defaults(handler=chat_add)

    imp = commands.add_parser(
        "import-chat",
        help="import a chat file: JSON lines, a ChatGPT conversations.json export or a LOCOMO file",
    )
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=import_chat)

    ingest_parser = commands.add_parser("ingest", help="process pending events into memories")
    ingest_parser.set_defaults(handler=ingest)

    ask_parser = commands.add_parser("ask", help="ask a question about your past")
    ask_parser.add_argument("question")
    ask_parser.set_defaults(handler=ask)


def chat_add(service: Service, args: argparse.Namespace) -> int:
    event_id = service.add_chat_turn(args.speaker, args.text)
    print(f"recorded event {event_id}")
    return 0


def import_chat(service: Service, args: argparse.Namespace) -> int:
    ids, skipped = service.import_chat(args.file)
    already = f" ({skipped} already imported, skipped)" if skipped else ""
    print(f"imported {len(ids)} chat turns from {args.file}{already}")
    return 0


def ingest(service: Service, args: argparse.Namespace) -> int:
    with TerminalProgress() as progress:
        report = service.ingest(progress)
    print(report.summary())
    return 0


def ask(service: Service, args: argparse.Namespace) -> int:
    with TerminalProgress() as progress:

        def on_token(piece: str) -> None:
            progress.stop()
            sys.stdout.write(piece)
            sys.stdout.flush()

        result = service.ask(args.question, on_token, progress)
    print()
    if not result.supported:
        return 0
    if result.cited:
        print("cited: " + ", ".join(result.cited))
    elif result.context:
        print("memories used: " + ", ".join(result.context))
    return 0

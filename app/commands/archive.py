"""`rememora export OUT` and `rememora import IN`.

A passphrase comes from ``REMEMORA_EXPORT_PASSPHRASE`` (scripts, tests) or is asked on
the terminal (twice, for an export); with neither, the command stops with one line and
never waits for input that cannot come.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import datetime, time
from pathlib import Path
from typing import Any

from app.progress_bar import TerminalProgress
from core.errors import RememoraError
from core.records import MemoryType
from core.service import ExportOptions, Service

PASSPHRASE_VARIABLE = "REMEMORA_EXPORT_PASSPHRASE"
MIN_PASSPHRASE = 8


def register(commands: Any) -> None:
    export = commands.add_parser(
        "export", help="write memories, history, events and screenshots to one archive"
    )
    export.add_argument("out", type=Path, metavar="OUT", help="the archive to write (new file)")
    export.add_argument(
        "--passphrase",
        action="store_true",
        help=f"encrypt the archive (AES-GCM); asked on the terminal, or ${PASSPHRASE_VARIABLE}",
    )
    export.add_argument(
        "--since", metavar="DATE", help="only what happened on or after DATE (ISO 8601)"
    )
    export.add_argument(
        "--types",
        nargs="+",
        metavar="TYPE",
        help="memory types to export (default: all; vault needs --passphrase)",
    )
    export.add_argument("--no-media", action="store_true", help="leave the screenshots out")
    export.set_defaults(handler=run_export)

    imp = commands.add_parser("import", help="import an archive that `rememora export` wrote")
    imp.add_argument("archive", type=Path, metavar="IN")
    imp.set_defaults(handler=run_import)


def ask_passphrase(confirm: bool) -> str:
    value = os.environ.get(PASSPHRASE_VARIABLE)
    if value:
        return value
    if not sys.stdin.isatty():
        raise RememoraError(
            f"a passphrase is needed: run on a terminal, or set {PASSPHRASE_VARIABLE}"
        )
    value = getpass.getpass("archive passphrase: ")
    if confirm and getpass.getpass("again: ") != value:
        raise RememoraError("the two passphrases differ")
    return value


def parse_since(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RememoraError(f"--since: not an ISO 8601 date: {text!r}") from None
    if len(text) <= 10:  # a date alone: from its first moment, local time
        moment = datetime.combine(moment.date(), time())
    return moment if moment.tzinfo else moment.astimezone()


def parse_types(names: list[str] | None) -> tuple[MemoryType, ...]:
    if not names:
        return tuple(MemoryType)
    parts = [part for name in names for part in name.split(",") if part]
    return tuple(MemoryType.parse(part.strip()) for part in parts)


def run_export(service: Service, args: argparse.Namespace) -> int:
    passphrase = ask_passphrase(confirm=True) if args.passphrase else None
    if passphrase is not None and len(passphrase) < MIN_PASSPHRASE:
        raise RememoraError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    options = ExportOptions(
        types=parse_types(args.types),
        types_given=bool(args.types),
        since=parse_since(args.since) if args.since else None,
        media=not args.no_media,
        passphrase=passphrase,
    )
    with TerminalProgress() as progress:
        report = service.export_archive(args.out, options, progress)
    print(report.summary())
    return 0


def run_import(service: Service, args: argparse.Namespace) -> int:
    with TerminalProgress() as progress:
        report = service.import_archive(
            args.archive, lambda: ask_passphrase(confirm=False), progress
        )
    print(report.summary())
    return 0

"""`rememora consolidate [--dry-run] [--json OUT] [--undo RUN_ID]`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.commands.subparsers import Subparsers
from app.progress_bar import TerminalProgress
from core.errors import InputFileError
from core.service import Service


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "consolidate",
        help="tidy memory now: merge, summarise, resolve contradictions, decay (undoable)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--dry-run", action="store_true", help="print what it would change; change nothing"
    )
    which.add_argument("--undo", metavar="RUN_ID", help="restore the state before that run")
    parser.add_argument(
        "--json", dest="json_out", type=Path, metavar="OUT", help="write the report"
    )
    parser.set_defaults(handler=consolidate)


def consolidate(service: Service, args: argparse.Namespace) -> int:
    if args.undo:
        with TerminalProgress() as progress:
            undone = service.undo_consolidation(args.undo, progress)
        print(undone.summary())
        return 0
    with TerminalProgress() as progress:
        report = service.consolidate(dry_run=args.dry_run, progress=progress)
    if args.dry_run:
        for line in report.changes:
            print(f"would {line}")
    print(report.summary())
    if args.json_out is not None:
        try:
            args.json_out.write_text(
                json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise InputFileError(args.json_out, f"cannot write the report: {exc}") from None
    if not args.dry_run:
        print(f"undo with: rememora consolidate --undo {report.run_id}")
    return 0

"""`rememora status` and `rememora doctor`."""

from __future__ import annotations

import argparse
from typing import Any

from app.progress_bar import TerminalProgress
from core.service import Service


def register(commands: Any) -> None:
    commands.add_parser("status", help="counts per type, store size, model in use").set_defaults(
        handler=status)
    doctor_parser = commands.add_parser("doctor", help="check models, store and lock")
    doctor_parser.add_argument("--reindex", action="store_true", help="rebuild Chroma from the ledger")
    doctor_parser.set_defaults(handler=doctor)


def status(service: Service, args: argparse.Namespace) -> int:
    report = service.status()
    print(f"data directory: {report.data_dir}")
    print(f"store size: {report.store_bytes / 1e6:.1f} MB")
    print(f"model: {report.llm}   embedder: {report.embedder}")
    print("memories: " + ", ".join(f"{t.value} {n}" for t, n in report.memories.items()))
    events = report.events
    print(f"events: {sum(events.values())} ({events.get('pending', 0)} pending, "
          f"{events.get('failed', 0)} failed)")
    batches = report.batches
    print(f"extraction batches: {sum(batches.values())} ({batches.get('done', 0)} done, "
          f"{batches.get('pending', 0)} pending, {batches.get('failed', 0)} failed)")
    return 0


def doctor(service: Service, args: argparse.Namespace) -> int:
    with TerminalProgress() as progress:
        checks = service.doctor(reindex=args.reindex, progress=progress)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1

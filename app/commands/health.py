"""`rememora status` and `rememora doctor`."""

from __future__ import annotations

import argparse

from app.commands.subparsers import Subparsers
from app.progress_bar import TerminalProgress
from core.service import Service


def register(commands: Subparsers) -> None:
    commands.add_parser("status", help="counts per type, store size, model in use").set_defaults(
        handler=status
    )
    doctor_parser = commands.add_parser("doctor", help="check models, store and lock")
    doctor_parser.add_argument(
        "--reindex", action="store_true", help="rebuild Chroma from the ledger"
    )
    doctor_parser.set_defaults(handler=doctor)


def status(service: Service, args: argparse.Namespace) -> int:
    report = service.status()
    print(f"data directory: {report.data_dir}")
    print(f"store size: {report.store_bytes / 1e6:.1f} MB")
    print(f"model: {report.llm}   embedder: {report.embedder}")
    print(f"data key: opened with the {service.key_opened_by} (keys.json)")
    print("memories: " + ", ".join(f"{t.value} {n}" for t, n in report.memories.items()))
    events = report.events
    print(
        f"events: {sum(events.values())} ({events.get('pending', 0)} pending, "
        f"{events.get('failed', 0)} failed)"
    )
    batches = report.batches
    print(
        f"extraction batches: {sum(batches.values())} ({batches.get('done', 0)} done, "
        f"{batches.get('pending', 0)} pending, {batches.get('failed', 0)} failed)"
    )
    _print_capture(service)
    return 0


def _print_capture(service: Service) -> None:
    health = service.capture_health()
    if health is None:
        print("capture: never run")
        return
    age = health.last_frame_age_s
    reason = f" ({health.pause_reason})" if health.pause_reason else ""
    print(
        f"capture: {health.state}{reason}; last frame "
        + (f"{age:.0f} s ago" if age is not None else "never")
    )
    counters = health.counters
    print(
        f"  frames {counters.frames}: kept {counters.kept}, deduplicated "
        f"{counters.dedup_exact} exact + {counters.dedup_similar} similar, dropped "
        f"{counters.dropped_private} private + {counters.dropped_backlog} backlog"
    )
    print(
        f"  OCR queue {health.ocr_queue}, read {counters.ocr_frames} frames, "
        f"capture thread CPU {100 * health.capture_cpu_share:.1f}% of a core"
    )
    days = health.days_of_history
    print(
        f"  media {health.media_bytes / 1e6:.1f} MB in {health.media_files} frames "
        f"of {health.media_budget_bytes / 1e9:.1f} GB budget"
        + (f" (~{days:.0f} days of history)" if days else "")
    )


def doctor(service: Service, args: argparse.Namespace) -> int:
    with TerminalProgress() as progress:
        checks = service.doctor(reindex=args.reindex, progress=progress)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1

"""`rememora capture` (headless screen capture) and `rememora replay` (a screenshot
folder through the same pipeline, with retrieval scores when it has an index.json)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from app.commands.subparsers import Subparsers
from app.progress_bar import TerminalProgress
from core.errors import RememoraError
from core.service import Service
from evaluation.replay import replay_and_score


def register(commands: Subparsers) -> None:
    capture = commands.add_parser("capture", help="capture the screen into memory (headless)")
    how_long = capture.add_mutually_exclusive_group()
    how_long.add_argument("--once", action="store_true", help="one frame, then stop")
    how_long.add_argument(
        "--for",
        dest="seconds",
        type=float,
        metavar="SECONDS",
        help="capture this long, then stop (default: until Ctrl-C)",
    )
    capture.add_argument("--display", help="X display (default: $DISPLAY)")
    capture.set_defaults(handler=run_capture)

    replay = commands.add_parser("replay", help="feed a folder of screenshots through capture")
    replay.add_argument("folder", type=Path, metavar="DIR")
    replay.add_argument(
        "--json", dest="json_out", type=Path, metavar="OUT", help="write the report here as JSON"
    )
    replay.add_argument(
        "--naive", action="store_true", help="baseline: no dedup, full-frame OCR of every frame"
    )
    replay.add_argument(
        "--sessions", type=int, metavar="N", help="only the first N sessions of DIR/index.json"
    )
    replay.set_defaults(handler=run_replay)


def run_capture(service: Service, args: argparse.Namespace) -> int:
    if args.seconds is not None and args.seconds <= 0:
        raise RememoraError("--for needs a positive number of seconds")
    recorder = service.open_recorder(args.display)
    try:
        if args.once:
            outcome = recorder.capture_once()
            print(f"frame: {outcome}")
        else:
            recorder.start()
            deadline = time.monotonic() + args.seconds if args.seconds else None
            print("capturing" + (f" for {args.seconds:g} s" if deadline else "; Ctrl-C stops"))
            try:
                while deadline is None or time.monotonic() < deadline:
                    time.sleep(min(0.5, max(0.0, (deadline or 1e18) - time.monotonic())))
            except KeyboardInterrupt:
                pass
    finally:
        recorder.stop()
    done = recorder.pipeline.counters
    print(
        f"frames {done.frames}: kept {done.kept}, deduplicated "
        f"{done.dedup_exact + done.dedup_similar}, dropped "
        f"{done.dropped_private + done.dropped_backlog} (private {done.dropped_private}); "
        f"screen events {done.events}"
    )
    with TerminalProgress() as progress:
        report = service.ingest(progress)
    print(report.summary())
    return 0


def run_replay(service: Service, args: argparse.Namespace) -> int:
    if args.sessions is not None and args.sessions < 1:
        raise RememoraError("--sessions needs a positive number")
    with TerminalProgress() as progress:
        report = replay_and_score(
            service, args.folder, naive=args.naive, limit_sessions=args.sessions, progress=progress
        )
    data = report.to_json()
    summary = {k: v for k, v in data.items() if k != "per_session"}
    print(json.dumps(summary, indent=1))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(data, indent=1), encoding="utf-8")
        print(f"wrote {args.json_out}")
    return 0

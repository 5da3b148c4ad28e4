"""`rememora bench kv`: what the KV state cache saves on this machine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.progress_bar import TerminalProgress
from core.service import Service


def register(commands: Any) -> None:
    bench = commands.add_parser("bench", help="measure the local runtime").add_subparsers(
        dest="bench_command", metavar="WHAT", required=True)
    kv = bench.add_parser("kv", help="time to first token with and without the KV state cache")
    kv.add_argument("--json", type=Path, metavar="OUT", help="also write the result here")
    kv.add_argument("--model", choices=["qwen2.5-coder-0.5b", "smollm2-135m"],
                    help="default: the configured model")
    kv.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    kv.add_argument("--prefix-tokens", type=int, default=1600)
    kv.set_defaults(handler=bench_kv)


def bench_kv(service: Service, args: argparse.Namespace) -> int:
    with TerminalProgress() as progress:
        result = service.bench_kv(args.model, max(1, args.repeats), args.prefix_tokens, progress)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0

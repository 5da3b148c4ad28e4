"""`rememora bench kv`: what the KV state cache saves on this machine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.commands.subparsers import Subparsers
from app.progress_bar import TerminalProgress
from core.service import Service
from evaluation.kv_bench import KVBenchResult
from evaluation.kv_bench import bench_kv as run_bench_kv


def register(commands: Subparsers) -> None:
    bench = commands.add_parser("bench", help="measure the local runtime").add_subparsers(
        dest="bench_command", metavar="WHAT", required=True
    )
    kv = bench.add_parser("kv", help="time to first token with and without the KV state cache")
    kv.add_argument(
        "--json",
        type=Path,
        metavar="OUT",
        help="write the issue's keys here, everything to OUT.details.json",
    )
    kv.add_argument(
        "--model",
        choices=["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"],
        help="default: the configured model",
    )
    kv.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    kv.add_argument("--prefix-tokens", type=int, default=1600)
    kv.add_argument("--memory-tokens", type=int, default=800)
    kv.set_defaults(handler=bench_kv)


def bench_kv(service: Service, args: argparse.Namespace) -> int:
    with TerminalProgress() as progress:
        result = run_bench_kv(
            service,
            args.model,
            max(1, args.repeats),
            args.prefix_tokens,
            args.memory_tokens,
            progress,
        )
    print(json.dumps(result.details, indent=2))
    if args.json:
        write_result(args.json, result)
    return 0


def write_result(out: Path, result: KVBenchResult) -> None:
    """OUT gets exactly the issue's keys; OUT.details.json everything measured."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result.headline, indent=2) + "\n", encoding="utf-8")
    details_file = out.with_name(out.stem + ".details.json")
    details_file.write_text(json.dumps(result.details, indent=2) + "\n", encoding="utf-8")

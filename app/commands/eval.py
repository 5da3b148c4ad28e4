"""`rememora eval locomo|longmemeval FILE --json OUT`: retrieval (and optionally answer)
benchmarks on public data, each conversation or question in a fresh temporary store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.commands.subparsers import Subparsers
from app.progress_bar import TerminalProgress
from core.service import Service
from evaluation.options import EvalOptions
from evaluation.runs import evaluate


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the benchmark's JSON file (.json or .json.gz)")
    parser.add_argument(
        "--extract",
        choices=("none", "llm"),
        default="none",
        help="none: each turn is one episodic memory, no LLM (default); "
        "llm: whatever extraction `ingest` does",
    )
    parser.add_argument(
        "--json",
        dest="json_out",
        type=Path,
        required=True,
        metavar="OUT",
        help="write the scores here",
    )
    parser.add_argument(
        "--dump",
        type=Path,
        metavar="FILE",
        help="also write one JSON line per question with its ranked source turns "
        "(and, with --answer, its answer text, cited ids, score and times)",
    )
    parser.add_argument(
        "--answer",
        action="store_true",
        help="also answer with the local model and score it with no judge model: normalised "
        "token F1 (LOCOMO: its per-category rules), and for LongMemEval also the share of "
        "answers holding the whole normalised gold answer; with TTFT and answer time p50/p95",
    )
    parser.add_argument(
        "--embedder", metavar="NAME", help="embedder to use instead of the setting's"
    )


def register(commands: Subparsers) -> None:
    evals = commands.add_parser("eval", help="retrieval benchmarks (LOCOMO, LongMemEval)")
    which = evals.add_subparsers(dest="eval_command", metavar="BENCHMARK", required=True)
    locomo = which.add_parser("locomo", help="LOCOMO evidence recall per category")
    _common(locomo)
    locomo.add_argument(
        "--conversations", metavar="ID,...", help="only these sample ids (e.g. conv-26,conv-30)"
    )
    locomo.add_argument("--limit", type=int, metavar="N", help="answer only the first N questions")
    locomo.set_defaults(handler=run_eval)
    longmemeval = which.add_parser("longmemeval", help="LongMemEval turn-level recall per type")
    _common(longmemeval)
    longmemeval.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    longmemeval.set_defaults(handler=run_eval)


def run_eval(service: Service, args: argparse.Namespace) -> int:
    options = EvalOptions(
        extract=args.extract, limit=args.limit, answer=args.answer, dump=args.dump
    )
    conversations = (
        [c.strip() for c in args.conversations.split(",") if c.strip()]
        if getattr(args, "conversations", None)
        else None
    )
    with TerminalProgress() as progress:
        report = evaluate(
            service, args.eval_command, args.file, options, conversations, args.embedder, progress
        )
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(
        json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    overall = report.overall
    scores = "  ".join(f"{k} {v:.3f}" for k, v in sorted(overall.items()) if k != "questions")
    print(f"{args.eval_command}: {scores}  p95 {report.facts.query_ms_p95:.1f} ms")
    if report.answer_f1 is not None:
        answers = report.answer_f1
        times = answers.times
        timing = (
            f"  TTFT p50 {times.ttft_s_p50:.2f} s p95 {times.ttft_s_p95:.2f} s, "
            f"answer p50 {times.total_s_p50:.2f} s p95 {times.total_s_p95:.2f} s"
            if times
            else ""
        )
        print(f"answers: F1 {answers.overall:.3f} over {answers.questions}{timing}")
    print(f"wrote {args.json_out}")
    return 0

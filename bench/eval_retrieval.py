"""Full dev-set retrieval benchmarks: LOCOMO (all conversations, plus the held-out one
alone) and LongMemEval_S, for one or more embedders, with `--extract none`.

    PYTHONPATH=. python bench/eval_retrieval.py [--embedders all-minilm-l6-v2,all-mpnet-base-v2]
        [--holdout conv-41] [--longmemeval-limit N] [--skip-longmemeval] [--skip-locomo]

Writes bench/out/eval_<benchmark>_<embedder>.json (and .jsonl dumps) and prints a summary.
Embeddings are cached under bench/out/embed-cache, so a second run measures retrieval
only; `ingest_seconds` of a run with a warm cache is not the cold ingest time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import Settings
from evaluation.options import EvalOptions
from evaluation.reports import BenchmarkReport, LocomoReport, LongMemEvalReport
from evaluation.runs import run_benchmark
from models.embedder import SentenceTransformerEmbedder

BENCH = ROOT.parent / "shared" / "bench"
OUT = ROOT / "bench" / "out"
LOCOMO = BENCH / "locomo" / "locomo_dev.json"
LONGMEMEVAL = BENCH / "longmemeval" / "longmemeval_s_dev.json.gz"


def _write(name: str, report: BenchmarkReport) -> None:
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def _locomo_line(label: str, report: BenchmarkReport) -> str:
    assert isinstance(report, LocomoReport) and report.scores.overall_1_4 is not None
    overall, cats = report.scores.overall_1_4, report.scores.categories
    per = " ".join(f"c{c} {cats[c].recall[10]:.3f}" for c in sorted(cats))
    facts = report.facts
    return (
        f"{label}: overall_1_4 r@1 {overall.recall[1]:.3f} r@5 {overall.recall[5]:.3f} "
        f"r@10 {overall.recall[10]:.3f} r@20 {overall.recall[20]:.3f} mrr {overall.mrr:.3f}"
        f" | r@10 {per} | p50 {facts.query_ms_p50:.1f} p95 {facts.query_ms_p95:.1f} ms"
        f" | ingest {facts.ingest_seconds:.1f} s, {report.store_bytes / 1e6:.1f} MB"
    )


def _longmemeval_lines(label: str, report: BenchmarkReport) -> list[str]:
    assert isinstance(report, LongMemEvalReport) and report.scores.overall is not None
    overall, facts = report.scores.overall, report.facts
    lines = [
        f"{label}: recall_all@5 {overall.recall_all[5]:.3f} "
        f"recall_all@10 {overall.recall_all[10]:.3f} recall_any@10 "
        f"{overall.recall_any[10]:.3f} ({overall.questions} questions) "
        f"p50 {facts.query_ms_p50:.1f} p95 {facts.query_ms_p95:.1f} ms "
        f"ingest {facts.ingest_seconds:.0f} s"
    ]
    for qtype, scores in report.scores.by_type.items():
        lines.append(
            f"  {qtype}: recall_all@10 {scores.recall_all[10]:.3f} "
            f"recall_any@10 {scores.recall_any[10]:.3f} (n={scores.questions})"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default="all-minilm-l6-v2")
    parser.add_argument("--holdout", default="conv-41")
    parser.add_argument("--longmemeval-limit", type=int)
    parser.add_argument("--skip-longmemeval", action="store_true")
    parser.add_argument("--skip-locomo", action="store_true")
    args = parser.parse_args()
    if not LOCOMO.exists():
        print(f"benchmark data not found under {BENCH}")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    settings = Settings()
    for name in args.embedders.split(","):
        embedder = SentenceTransformerEmbedder(name)
        cache = OUT / "embed-cache"
        if not args.skip_locomo:
            report = run_benchmark(
                "locomo",
                LOCOMO,
                embedder,
                settings,
                EvalOptions(dump=OUT / f"eval_locomo_{name}.jsonl"),
                cache_dir=cache,
            )
            _write(f"eval_locomo_{name}", report)
            print(_locomo_line(f"LOCOMO {name} (all)", report), flush=True)
            held = run_benchmark(
                "locomo", LOCOMO, embedder, settings, EvalOptions(), [args.holdout], cache_dir=cache
            )
            _write(f"eval_locomo_{name}_{args.holdout}", held)
            print(_locomo_line(f"LOCOMO {name} (held out {args.holdout})", held), flush=True)
        if not args.skip_longmemeval:
            suffix = f"_first{args.longmemeval_limit}" if args.longmemeval_limit else ""
            report = run_benchmark(
                "longmemeval",
                LONGMEMEVAL,
                embedder,
                settings,
                EvalOptions(
                    limit=args.longmemeval_limit,
                    dump=OUT / f"eval_longmemeval_{name}{suffix}.jsonl",
                ),
                cache_dir=cache,
            )
            _write(f"eval_longmemeval_{name}{suffix}", report)
            print("\n".join(_longmemeval_lines(f"LongMemEval_S {name}", report)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Dispatch a benchmark run; the one embedder is wrapped in a cache shared by every
temporary store of the run. A run returns a typed report (evaluation/reports.py) whose
``to_json()`` is the file `rememora eval` writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from core.errors import RememoraError
from core.progress import NULL_PROGRESS, Progress
from core.service import Service
from core.settings import Settings
from evaluation.locomo import run_locomo
from evaluation.longmemeval import run_longmemeval
from evaluation.options import EvalOptions
from evaluation.reports import BenchmarkReport, EmbedderCache
from evaluation.stores import CachingEmbedder
from models.embedder import Embedder
from models.llm import LLM

BENCHMARKS = ("locomo", "longmemeval")
EXTRACT_NOTE = (
    "each store was built by `rememora ingest`: raw episodic records plus the "
    "LLM's typed memories, reconciled"
)


def run_benchmark(
    benchmark: str,
    path: Path,
    embedder: Embedder,
    settings: Settings,
    options: EvalOptions,
    conversations: Sequence[str] | None = None,
    llm: LLM | None = None,
    progress: Progress = NULL_PROGRESS,
    cache_dir: Path | None = None,
) -> BenchmarkReport:
    if not path.exists():
        raise RememoraError(f"{path}: no such file")
    cached = CachingEmbedder(embedder, cache_dir)
    report: BenchmarkReport
    if benchmark == "locomo":
        report = run_locomo(path, cached, settings, options, conversations, llm, progress)
    elif benchmark == "longmemeval":
        report = run_longmemeval(path, cached, settings, options, llm, progress)
    else:
        raise RememoraError(f"unknown benchmark {benchmark!r}; one of: {', '.join(BENCHMARKS)}")
    facts = replace(
        report.facts,
        embedder_cache=EmbedderCache(cached.hits, cached.misses),
        extract_note=EXTRACT_NOTE if options.extract == "llm" else None,
    )
    return replace(report, facts=facts)


def evaluate(
    service: Service,
    benchmark: str,
    path: Path,
    options: EvalOptions,
    conversations: Sequence[str] | None = None,
    embedder_name: str | None = None,
    progress: Progress = NULL_PROGRESS,
) -> BenchmarkReport:
    """Run a public retrieval benchmark ("locomo" or "longmemeval") through fresh
    temporary stores; ``service``'s data directory is not touched (its LLM is reused for
    ``options.answer``)."""
    embedder = service.runtime.named_embedder(embedder_name)
    llm = service.load_llm(progress) if options.answer else None
    return run_benchmark(
        benchmark, path, embedder, service.settings, options, conversations, llm, progress
    )

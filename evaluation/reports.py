"""What a benchmark run reports, as typed records.

The JSON files that `rememora eval` and bench/eval_retrieval.py write are each report's
:meth:`to_json`; their keys and values are the published ones (BENCHMARKS.md quotes
them), so a field added here is added to ``to_json`` on purpose, never by accident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaluation.options import ExtractMode
from evaluation.scoring import LocomoScores, LongMemEvalScores, percentile


@dataclass(frozen=True)
class EmbedderCache:
    """How many texts the run's embedder cache answered, and how many it embedded."""

    hits: int
    misses: int

    def to_json(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}


@dataclass(frozen=True)
class AnswerTimes:
    """Seconds from asking to the first piece of the answer (TTFT) and to the whole
    answer, over the questions answered (nearest-rank percentiles)."""

    ttft_s_p50: float
    ttft_s_p95: float
    total_s_p50: float
    total_s_p95: float

    @classmethod
    def of(cls, ttft: Sequence[float], total: Sequence[float]) -> AnswerTimes:
        return cls(
            percentile(ttft, 50), percentile(ttft, 95), percentile(total, 50), percentile(total, 95)
        )

    def to_json(self) -> dict[str, float]:
        return {
            "ttft_s_p50": self.ttft_s_p50,
            "ttft_s_p95": self.ttft_s_p95,
            "total_s_p50": self.total_s_p50,
            "total_s_p95": self.total_s_p95,
        }


@dataclass(frozen=True)
class LocomoAnswerF1:
    """LOCOMO's answer score of the questions answered, per category and over all."""

    by_category: dict[str, float]
    overall: float
    questions: int
    times: AnswerTimes | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "by_category": self.by_category,
            "overall": self.overall,
            "questions": self.questions,
        }
        if self.times is not None:
            data["times"] = self.times.to_json()
        return data


@dataclass(frozen=True)
class AnswerF1:
    """How the answers match the gold answers, over the questions answered, with no
    judge model: ``overall`` is the mean normalised token F1 (LOCOMO's normalisation);
    ``contains`` the share of answers that hold the whole normalised gold answer."""

    overall: float
    questions: int
    contains: float | None = None
    times: AnswerTimes | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"overall": self.overall, "questions": self.questions}
        if self.contains is not None:
            data["contains"] = self.contains
        if self.times is not None:
            data["times"] = self.times.to_json()
        return data


@dataclass(frozen=True)
class RunFacts:
    """What every run measures besides its scores."""

    query_ms_p50: float
    query_ms_p95: float
    ingest_seconds: float
    questions: int
    extract: ExtractMode
    embedder: str
    embedder_cache: EmbedderCache | None = None  # set by run_benchmark
    extract_note: str | None = None  # set by run_benchmark for `--extract llm`

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "query_ms_p50": self.query_ms_p50,
            "query_ms_p95": self.query_ms_p95,
            "ingest_seconds": self.ingest_seconds,
            "questions": self.questions,
            "extract": self.extract,
            "embedder": self.embedder,
        }
        if self.embedder_cache is not None:
            data["embedder_cache"] = self.embedder_cache.to_json()
        if self.extract_note is not None:
            data["extract_note"] = self.extract_note
        return data


@dataclass(frozen=True)
class LocomoReport:
    scores: LocomoScores
    facts: RunFacts
    store_bytes: int  # all conversations' stores together
    conversations: tuple[str, ...]
    turns: int
    answer_f1: LocomoAnswerF1 | None = None

    @property
    def overall(self) -> dict[str, float]:
        """The pooled scores of categories 1-4 (empty when none was scored)."""
        return self.scores.overall_1_4.to_json() if self.scores.overall_1_4 else {}

    def to_json(self) -> dict[str, object]:
        data = self.scores.to_json() | self.facts.to_json()
        data.update(
            {
                "store_bytes": self.store_bytes,
                "conversations": list(self.conversations),
                "turns": self.turns,
            }
        )
        if self.answer_f1 is not None:
            data["answer_f1"] = self.answer_f1.to_json()
        return data


@dataclass(frozen=True)
class LongMemEvalReport:
    scores: LongMemEvalScores
    facts: RunFacts
    store_bytes_max: int  # the largest of the per-question stores
    answer_f1: AnswerF1 | None = None

    @property
    def scored_questions(self) -> int:
        return self.scores.overall.questions if self.scores.overall else 0

    @property
    def overall(self) -> dict[str, float]:
        """The scores over all scored questions (empty when none was scored)."""
        return self.scores.overall.to_json() if self.scores.overall else {}

    def to_json(self) -> dict[str, object]:
        data = self.scores.to_json() | self.facts.to_json()
        data.update(
            {"store_bytes_max": self.store_bytes_max, "scored_questions": self.scored_questions}
        )
        if self.answer_f1 is not None:
            data["answer_f1"] = self.answer_f1.to_json()
        return data


BenchmarkReport = LocomoReport | LongMemEvalReport

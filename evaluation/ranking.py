"""How a ranking of source turns is read from the store, and the ``--dump`` file."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from core.service import Service
from evaluation.scoring import distinct_turns
from evaluation.stores import hit_turns

RANK_DEPTH = 20  # the dump holds at least this many distinct source turns per question


@dataclass(frozen=True)
class RankedQuestion:
    ranked: list[str]
    query_ms: float


def rank_turns(service: Service, question: str, now: datetime) -> RankedQuestion:
    """Ask the real retrieval path; time only the search itself."""
    limit = 2 * RANK_DEPTH
    while True:
        started = time.perf_counter()
        hits = service.search(question, limit=limit, now=now)
        elapsed = (time.perf_counter() - started) * 1000.0
        ranked = distinct_turns(hit_turns(service, hits))
        if len(ranked) >= RANK_DEPTH or len(hits) < limit:
            return RankedQuestion(ranked, elapsed)
        limit *= 2


class DumpWriter:
    """One JSON line per question (``--dump``), or nothing when no file was asked for."""

    def __init__(self, path: Path | None) -> None:
        self._handle: IO[str] | None = path.open("w", encoding="utf-8") if path else None

    def write(self, record: dict[str, object]) -> None:
        if self._handle:
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._handle.flush()

    def close(self) -> None:
        if self._handle:
            self._handle.close()


@dataclass(frozen=True)
class TimedAnswer:
    """An answer from the real ask path, with what the user waits for: the seconds to its
    first piece of text (TTFT) and to the whole answer, both from the moment it is asked."""

    text: str
    cited: tuple[str, ...]
    supported: bool
    ttft_s: float
    total_s: float


def timed_answer(service: Service, question: str) -> TimedAnswer:
    started = time.perf_counter()
    first: list[float] = []

    def on_token(_piece: str) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    reply = service.ask(question, on_token=on_token)
    total = time.perf_counter() - started
    return TimedAnswer(
        reply.text, tuple(reply.cited), reply.supported, first[0] if first else total, total
    )


def answer_record(reply: TimedAnswer, gold: str, score: float) -> dict[str, object]:
    """What ``--dump`` adds for an answered question, so answers can be read."""
    return {
        "answer": reply.text,
        "cited": list(reply.cited),
        "supported": reply.supported,
        "gold": gold,
        "score": score,
        "ttft_s": round(reply.ttft_s, 3),
        "total_s": round(reply.total_s, 3),
    }

"""LongMemEval: turn-level recall of the real retrieval path, one fresh store per
question holding its whole haystack. Every turn (user and assistant) becomes a chat event
with its session's time (turns 30 s apart), its role as speaker and
``<session_id>:<turn index>`` in the payload. Evidence turns are those marked
``has_answer``; abstention questions (``_abs``) are asked but not scored."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import Any

from core.errors import RememoraError
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import EventKind, NewEvent
from core.settings import Settings
from evaluation.answer_f1 import contains_answer, token_f1
from evaluation.options import EvalOptions
from evaluation.ranking import DumpWriter, answer_record, rank_turns, timed_answer
from evaluation.reports import AnswerF1, AnswerTimes, LongMemEvalReport, RunFacts
from evaluation.scoring import is_abstention, longmemeval_scores, percentile
from evaluation.stores import TURN_KEY, temp_store
from models.embedder import Embedder
from models.llm import LLM

TURN_SPACING = timedelta(seconds=30)


def load_longmemeval(path: Path) -> list[dict[str, Any]]:
    try:
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except (OSError, ValueError) as exc:
        raise RememoraError(f"{path}: not a readable LongMemEval JSON file ({exc})") from None
    if not isinstance(data, list) or not all("haystack_sessions" in q for q in data):
        raise RememoraError(f"{path}: not a LongMemEval file (questions with haystack_sessions)")
    return data


def lme_time(text: str) -> datetime:
    """ "2023/07/12 (Wed) 10:14" as an aware UTC time."""
    return datetime.strptime(text.strip(), "%Y/%m/%d (%a) %H:%M").replace(tzinfo=UTC)


def haystack_events(question: dict[str, Any]) -> tuple[list[NewEvent], list[str]]:
    events: list[NewEvent] = []
    evidence: list[str] = []
    for session_id, date, session in zip(
        question["haystack_session_ids"], question["haystack_dates"], question["haystack_sessions"]
    ):
        start = lme_time(date)
        for position, turn in enumerate(session):
            turn_id = f"{session_id}:{position}"
            if not turn["content"].strip():
                continue
            if turn.get("has_answer"):
                evidence.append(turn_id)
            events.append(
                NewEvent(
                    EventKind.CHAT,
                    turn["content"],
                    start + position * TURN_SPACING,
                    turn["role"],
                    source="longmemeval",
                    payload={"session": session_id, TURN_KEY: turn_id},
                )
            )
    return events, evidence


def run_longmemeval(
    path: Path,
    embedder: Embedder,
    settings: Settings,
    options: EvalOptions,
    llm: LLM | None = None,
    progress: Progress = NULL_PROGRESS,
) -> LongMemEvalReport:
    data = load_longmemeval(path)[: options.limit] if options.limit else load_longmemeval(path)
    rows: list[tuple[str, str, list[str], list[str]]] = []
    latencies: list[float] = []
    answers: list[float] = []
    contained: list[float] = []
    ttft: list[float] = []
    total_s: list[float] = []
    ingest_seconds = 0.0
    store_bytes = 0
    dump = DumpWriter(options.dump)
    try:
        for number, question in enumerate(data):
            check_cancelled(progress)
            events, evidence = haystack_events(question)
            now = lme_time(question["question_date"])
            with temp_store(
                events,
                embedder,
                settings,
                llm,
                clock=lambda: now,  # noqa: B023 - used within this iteration
                extract=options.extract,
            ) as store:
                ingest_seconds += store.ingest_seconds
                store_bytes = max(store_bytes, store.store_bytes)
                result = rank_turns(store.service, question["question"], now)
                record: dict[str, object] = {
                    "id": question["question_id"],
                    "question": question["question"],
                    "question_type": question["question_type"],
                    "ranked": result.ranked,
                }
                if options.answer and not is_abstention(question["question_id"]):
                    reply = timed_answer(store.service, question["question"])
                    gold = str(question["answer"])
                    answers.append(token_f1(reply.text, gold))
                    contained.append(contains_answer(reply.text, gold))
                    ttft.append(reply.ttft_s)
                    total_s.append(reply.total_s)
                    record |= answer_record(reply, gold, answers[-1])
            rows.append(
                (question["question_id"], question["question_type"], evidence, result.ranked)
            )
            latencies.append(result.query_ms)
            dump.write(record)
            progress.update(number + 1, len(data), "LongMemEval questions")
    finally:
        dump.close()
    facts = RunFacts(
        percentile(latencies, 50),
        percentile(latencies, 95),
        ingest_seconds,
        len(rows),
        options.extract,
        embedder.name,
    )
    return LongMemEvalReport(
        longmemeval_scores(rows),
        facts,
        store_bytes,
        AnswerF1(fmean(answers), len(answers), fmean(contained), AnswerTimes.of(ttft, total_s))
        if answers
        else None,
    )

"""LOCOMO: evidence-turn recall of the real retrieval path, one fresh store per
conversation. Each turn becomes a chat event with its session's time (turns a session
apart keep their order, 30 s apart), its speaker, and its ``D<session>:<turn>`` id in the
payload; image turns carry their caption, which is part of what was shared."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import Any

from core.errors import RememoraError
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import EventKind, NewEvent
from core.settings import Settings
from evaluation.answer_f1 import locomo_answer_score
from evaluation.options import EvalOptions
from evaluation.ranking import DumpWriter, answer_record, rank_turns, timed_answer
from evaluation.reports import AnswerTimes, LocomoAnswerF1, LocomoReport, RunFacts
from evaluation.scoring import clean_locomo_evidence, locomo_scores, percentile
from evaluation.stores import TURN_KEY, temp_store
from models.embedder import Embedder
from models.llm import LLM

_SESSION = re.compile(r"^session_(\d+)$")
TURN_SPACING = timedelta(seconds=30)


def load_locomo(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RememoraError(f"{path}: not a readable LOCOMO JSON file ({exc})") from None
    if not isinstance(data, list) or not all("conversation" in c and "qa" in c for c in data):
        raise RememoraError(f"{path}: not a LOCOMO file (a list of conversations with qa)")
    return data


def session_time(text: str) -> datetime:
    """ "1:56 pm on 8 May, 2023" as an aware UTC time."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def conversation_events(conversation: dict[str, Any]) -> list[NewEvent]:
    events: list[NewEvent] = []
    sessions = sorted(int(m.group(1)) for key in conversation if (m := _SESSION.match(key)))
    for number in sessions:
        start = session_time(conversation[f"session_{number}_date_time"])
        for position, turn in enumerate(conversation[f"session_{number}"]):
            text = turn["text"]
            if turn.get("blip_caption"):
                text += f" [shares a photo: {turn['blip_caption']}]"
            turn_id = clean_locomo_evidence([turn["dia_id"]])
            events.append(
                NewEvent(
                    EventKind.CHAT,
                    text,
                    start + position * TURN_SPACING,
                    turn["speaker"],
                    source="locomo",
                    payload={
                        "session": f"D{number}",
                        TURN_KEY: turn_id[0] if turn_id else turn["dia_id"],
                    },
                )
            )
    return events


def run_locomo(
    path: Path,
    embedder: Embedder,
    settings: Settings,
    options: EvalOptions,
    conversations: Sequence[str] | None = None,
    llm: LLM | None = None,
    progress: Progress = NULL_PROGRESS,
) -> LocomoReport:
    data = load_locomo(path)
    if conversations:
        unknown = set(conversations) - {c["sample_id"] for c in data}
        if unknown:
            raise RememoraError(f"no conversation {sorted(unknown)[0]} in {path}")
        data = [c for c in data if c["sample_id"] in conversations]
    rows: list[tuple[int, list[str], list[str]]] = []
    latencies: list[float] = []
    answer_scores: dict[str, list[float]] = {}
    ttft: list[float] = []
    total_s: list[float] = []
    ingest_seconds = 0.0
    store_bytes = 0
    turns = 0
    total = sum(len(c["qa"]) for c in data)
    dump = DumpWriter(options.dump)
    try:
        for conversation in data:
            events = conversation_events(conversation["conversation"])
            now = max(e.occurred_at for e in events) + timedelta(days=1)
            with temp_store(
                events,
                embedder,
                settings,
                llm,
                clock=lambda: now,  # noqa: B023 - used within this iteration
                extract=options.extract,
            ) as store:
                ingest_seconds += store.ingest_seconds
                store_bytes += store.store_bytes
                turns += len(events)
                for index, qa in enumerate(conversation["qa"]):
                    check_cancelled(progress)
                    result = rank_turns(store.service, qa["question"], now)
                    evidence = clean_locomo_evidence(qa.get("evidence", []))
                    rows.append((int(qa["category"]), evidence, result.ranked))
                    latencies.append(result.query_ms)
                    record: dict[str, object] = {
                        "id": f"{conversation['sample_id']}#{index}",
                        "question": qa["question"],
                        "category": qa["category"],
                        "ranked": result.ranked,
                    }
                    if options.answer and (
                        options.limit is None
                        or sum(map(len, answer_scores.values())) < options.limit
                    ):
                        reply = timed_answer(store.service, qa["question"])
                        gold = qa.get("answer", qa.get("adversarial_answer", ""))
                        score = locomo_answer_score(int(qa["category"]), reply.text, str(gold))
                        answer_scores.setdefault(str(qa["category"]), []).append(score)
                        ttft.append(reply.ttft_s)
                        total_s.append(reply.total_s)
                        record |= answer_record(reply, str(gold), score)
                    dump.write(record)
                    progress.update(len(rows), total, f"LOCOMO {conversation['sample_id']}")
    finally:
        dump.close()
    answer_f1 = None
    if answer_scores:
        answer_f1 = LocomoAnswerF1(
            {c: fmean(v) for c, v in sorted(answer_scores.items())},
            fmean(s for v in answer_scores.values() for s in v),
            sum(map(len, answer_scores.values())),
            AnswerTimes.of(ttft, total_s),
        )
    facts = RunFacts(
        percentile(latencies, 50),
        percentile(latencies, 95),
        ingest_seconds,
        len(rows),
        options.extract,
        embedder.name,
    )
    return LocomoReport(
        locomo_scores(rows),
        facts,
        store_bytes,
        tuple(c["sample_id"] for c in data),
        turns,
        answer_f1,
    )

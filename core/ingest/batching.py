"""Group events into batches for extraction: a new batch starts at a time gap, when the
channel changes (chat vs. screen, another app or import), at a topic shift (the event's
embedding is far from the batch's mean), or when the batch is full. Grouping depends only
on the events and their embeddings, so a rerun after a crash forms the same batches."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from core.records import Event


@dataclass(frozen=True)
class BatchingRules:
    max_gap: timedelta = timedelta(minutes=30)
    max_events: int = 10
    max_chars: int = 1500
    topic_similarity: float = 0.12  # below this, the event starts a new batch
    min_events_before_shift: int = 3


def _channel(event: Event) -> str:
    return f"{event.kind.value}:{event.source}"


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def group_events(
    events: Sequence[Event],
    vectors: Sequence[Sequence[float]],
    rules: BatchingRules = BatchingRules(),
) -> list[list[Event]]:
    batches: list[list[Event]] = []
    current: list[Event] = []
    centroid: list[float] = []
    chars = 0
    for event, vector in zip(events, vectors):
        if current:
            previous = current[-1]
            split = (
                event.occurred_at - previous.occurred_at > rules.max_gap
                or _channel(event) != _channel(previous)
                or len(current) >= rules.max_events
                or chars + len(event.text) > rules.max_chars
                or (
                    len(current) >= rules.min_events_before_shift
                    and _cosine(vector, centroid) < rules.topic_similarity
                )
            )
            if split:
                batches.append(current)
                current, centroid, chars = [], [], 0
        current.append(event)
        chars += len(event.text)
        n = len(current)
        centroid = (
            list(vector) if n == 1 else [(c * (n - 1) + v) / n for c, v in zip(centroid, vector)]
        )
    if current:
        batches.append(current)
    return batches

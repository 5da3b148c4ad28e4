"""Route a batch of events to memory types and run one extractor per routed type.

The model sees the events as numbered lines between ``<events>`` tags (short integer
aliases, never raw ids), with ``<`` and ``>`` in event text neutralised so text cannot
close the block; the rules in the system prompt say the block is data. Every answer is
JSON constrained by the extractor's schema through llama.cpp's grammar, so it always has
the right shape. An extractor's answer cut short by the token limit keeps its complete
items; a router answer cut short raises :class:`ExtractionError` (the batch is retried).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from string import Template
from typing import Any

import assets
from core.errors import ExtractionError
from core.ingest.injection import keep_trusted
from core.ingest.routing import (
    MODEL_ROUTED,
    NEUTRAL_TEXT,
    YES_NO_MAX_TOKENS,
    YES_NO_SCHEMA,
    combine,
    parse_yes_no,
    question_task,
    rule_routes,
)
from core.ingest.type_extractors import (
    EXTRACTORS,
    Candidate,
    Extractor,
    ItemContext,
    vault_candidate,
)
from core.records import Event, EventId, EventKind, EventStatus, MemoryType
from core.store.vault import detect_vault_items
from models.llm import ChatMessage, ChoiceLLM, JsonLLM


@dataclass(frozen=True)
class BatchExtraction:
    routed_by_model: tuple[MemoryType, ...]
    routed_by_rules: tuple[MemoryType, ...]
    candidates: tuple[Candidate, ...]

    @property
    def routed(self) -> tuple[MemoryType, ...]:
        return combine(self.routed_by_model, set(self.routed_by_rules))


def _speaker(event: Event) -> str:
    if event.kind is EventKind.SCREEN:
        return f"screen ({event.source})" if event.source else "screen"
    return event.speaker or "user"


def _quoted(text: str) -> str:
    return " ".join(text.replace("<", "‹").replace(">", "›").split())


def render_events(events: Sequence[Event]) -> str:
    lines = [
        f"[{alias}] {e.occurred_at.astimezone():%a %Y-%m-%d %H:%M} | {_speaker(e)}: {_quoted(e.text)}"
        for alias, e in enumerate(events, start=1)
    ]
    return "<events>\n" + "\n".join(lines) + "\n</events>"


def build_messages(task: str, events: Sequence[Event], now: datetime) -> list[ChatMessage]:
    """One system prompt for every call, then the events, then the task (a prompt file's
    name, or the text of a routing question): the router's questions and all extractors
    of a batch share the prefix, so llama.cpp evaluates it once."""
    system = (
        Template(assets.read_text("prompts/memory_system.txt"))
        .substitute(today=now.astimezone().strftime("%A %Y-%m-%d"))
        .strip()
    )
    task_text = assets.read_text(f"prompts/{task}").strip() if task.endswith(".txt") else task
    return [
        ChatMessage("system", system),
        ChatMessage("user", f"{render_events(events)}\n\n{task_text}"),
    ]


def salvage(raw: str, list_key: str) -> dict[str, Any] | None:
    """The complete items of a list answer cut short by the token limit. Grammar-constrained
    output is always a prefix of valid JSON, so closing it after an item's ``}`` parses."""
    for end in range(len(raw) - 1, 0, -1):
        if raw[end] != "}":
            continue
        try:
            value = json.loads(raw[: end + 1] + "]}")
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get(list_key), list):
            return value
    return None


def _ask(
    llm: JsonLLM,
    messages: list[ChatMessage],
    schema: dict[str, Any],
    max_tokens: int,
    what: str,
    list_key: str = "",
) -> dict[str, Any]:
    raw = llm.complete_json(messages, schema, max_tokens)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = (salvage(raw, list_key) or {list_key: []}) if list_key else None
        if value is None:
            raise ExtractionError(
                f"{what}: the model's JSON was cut short at {max_tokens} tokens ({raw[-40:]!r})"
            ) from None
    if not isinstance(value, dict):
        raise ExtractionError(f"{what}: expected a JSON object")
    return value


_BASELINES: dict[tuple[str, MemoryType], float] = {}


def _neutral(now: datetime) -> list[Event]:
    return [
        Event(
            EventId(0),
            EventKind.CHAT,
            NEUTRAL_TEXT,
            now,
            "user",
            "chat",
            {},
            EventStatus.PENDING,
            0,
        )
    ]


def route_margin(
    llm: JsonLLM | ChoiceLLM, events: Sequence[Event], now: datetime, memory_type: MemoryType
) -> float:
    """How much more the model leans to "yes" for these events than for a content-free
    turn (calibration: small models lean to "yes" whatever they read). Positive: route.
    A model that cannot score answers (a server) answers the grammar-constrained
    yes/no instead: +1 or -1."""
    task = question_task(memory_type)
    if not isinstance(llm, ChoiceLLM):
        raw = llm.complete_json(build_messages(task, events, now), YES_NO_SCHEMA, YES_NO_MAX_TOKENS)
        answer = parse_yes_no(raw)
        if answer is None:
            raise ExtractionError(
                f"router ({memory_type.value}): the answer was cut short ({raw!r})"
            )
        return 1.0 if answer else -1.0
    key = (llm.name, memory_type)
    if key not in _BASELINES:
        _BASELINES[key] = llm.yes_no_margin(build_messages(task, _neutral(now), now))
    return llm.yes_no_margin(build_messages(task, events, now)) - _BASELINES[key]


def route(
    llm: JsonLLM, events: Sequence[Event], now: datetime, types: Sequence[MemoryType] = MODEL_ROUTED
) -> tuple[MemoryType, ...]:
    """The types among ``types`` the model says the batch touches, one question each."""
    return tuple(t for t in types if route_margin(llm, events, now, t) > 0)


def _cited(item: dict[str, Any], events: Sequence[Event]) -> list[Event]:
    aliases = item.get("events") or []
    chosen = [
        events[a - 1]
        for a in dict.fromkeys(aliases)
        if isinstance(a, int) and 1 <= a <= len(events)
    ]
    return chosen or list(events)


def extract_type(
    llm: JsonLLM, extractor: Extractor, events: Sequence[Event], now: datetime
) -> list[Candidate]:
    answer = _ask(
        llm,
        build_messages(extractor.prompt, events, now),
        extractor.schema(len(events)),
        extractor.max_tokens,
        f"{extractor.type.value} extractor",
        extractor.list_key,
    )
    candidates = []
    for item in answer.get(extractor.list_key, []):
        cited = _cited(item, events)
        ctx = ItemContext(tuple(e.id for e in cited), cited[0].occurred_at)
        candidate = extractor.convert(item, ctx)
        if candidate is not None:
            candidates.append(candidate)
    return candidates


def pattern_vault_candidates(events: Sequence[Event]) -> list[Candidate]:
    found = []
    for event in events:
        ctx = ItemContext((event.id,), event.occurred_at)
        for match in detect_vault_items(event.text):
            label = f"{_speaker(event)}'s {match.label}"
            found.append(
                vault_candidate(
                    label, match.vault_type, match.value, match.sensitivity, ctx, "vault-detector"
                )
            )
    return found


def extract_batch(llm: JsonLLM, events: Sequence[Event], now: datetime) -> BatchExtraction:
    """Route, then run the routed extractors (episodic's raw records are written anyway).
    The model is asked only about the types the rules did not already route."""
    pattern_vault = pattern_vault_candidates(events)
    by_rules = rule_routes("\n".join(e.text for e in events), bool(pattern_vault))
    by_model = route(llm, events, now, [t for t in MODEL_ROUTED if t not in by_rules])
    routed = set(combine(by_model, by_rules))
    candidates: list[Candidate] = list(pattern_vault)
    for memory_type in MemoryType:
        if memory_type in routed:
            candidates += extract_type(llm, EXTRACTORS[memory_type], events, now)
    # the fallback (nothing else matched) is a rule too: the batch log records it
    return BatchExtraction(
        by_model,
        tuple(t for t in MemoryType if t in routed and t not in by_model),
        tuple(keep_trusted(events, candidates)),  # instructions in the data write nothing
    )

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
from core.ingest import learned_router
from core.ingest.grounding import supported, with_source_steps
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
from core.ingest.secret_values import find_values
from core.ingest.type_extractors import (
    EXTRACTORS,
    Candidate,
    Extractor,
    ItemContext,
    items_schema,
    vault_candidate,
)
from core.records import Event, EventId, EventKind, EventStatus, MemoryType
from core.store.vault import MASK, detect_vault_items
from models.embedder import Embedder
from models.llm import ChatMessage, ChoiceLLM, JsonLLM


@dataclass(frozen=True)
class BatchExtraction:
    """What a batch was routed to (by the learned router, ``routed_by_model``; by exact
    rules), the candidates kept, how many the grounding check dropped, and how many
    model calls it took."""

    routed_by_model: tuple[MemoryType, ...]
    routed_by_rules: tuple[MemoryType, ...]
    candidates: tuple[Candidate, ...]
    dropped: int = 0
    calls: int = 0

    @property
    def routed(self) -> tuple[MemoryType, ...]:
        chosen = set(self.routed_by_model) | set(self.routed_by_rules)
        return tuple(t for t in MemoryType if t in chosen)


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


def _is_mask(value: str) -> bool:
    """Whether a found value is (part of) the vault's mask and not a secret: an event
    whose value was filed reads "... is [in vault]", and a pattern after "is" takes the
    mask's first word; filed again, it would supersede the real value."""
    return value.strip() in MASK or MASK in value


def pattern_vault_candidates(events: Sequence[Event]) -> list[Candidate]:
    found = []
    for event in events:
        found += event_vault_candidates(event, learned=False)
    return found


def event_vault_candidates(event: Event, learned: bool) -> list[Candidate]:
    """The exact patterns' finds (IBANs, card numbers, ...) and, when the learned router's
    vault head flags the event (``learned``), the code-shaped values in it (a door code,
    a wifi key, a membership number), each as a vault candidate."""
    ctx = ItemContext((event.id,), event.occurred_at)
    found = []
    for match in detect_vault_items(event.text):
        if _is_mask(match.value):
            continue  # the marker of a value already filed ("password is [in vault]")
        label = f"{_speaker(event)}'s {match.label}"
        found.append(
            vault_candidate(
                label, match.vault_type, match.value, match.sensitivity, ctx, "vault-detector"
            )
        )
    if learned and event.kind is EventKind.CHAT:
        for value in find_values(event.text):
            if _is_mask(value.value) or any(
                value.value in c.secret or c.secret in value.value for c in found
            ):
                continue
            label = f"{_speaker(event)}'s {value.label}"
            found.append(
                vault_candidate(label, value.vault_type, value.value, "high", ctx, "vault-learned")
            )
    return found


COMBINED_MAX_TOKENS = 480  # a small model fills every list to its end: bound the answer


def _combined_schema(extractors: Sequence[Extractor], aliases: int) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [e.type.value for e in extractors],
        "properties": {
            e.type.value: items_schema(e.properties, aliases, e.max_items) for e in extractors
        },
    }


def combined_task(extractors: Sequence[Extractor]) -> str:
    """The one task that fills every routed type: each type's line, no example content."""
    lines = "\n".join(f"- {assets.read_text(f'prompts/{e.prompt}').strip()}" for e in extractors)
    return Template(assets.read_text("prompts/extract_all.txt")).substitute(types=lines).strip()


def salvage_combined(raw: str) -> dict[str, Any] | None:
    """The complete items of a combined answer cut short inside one of its lists."""
    for end in range(len(raw) - 1, 0, -1):
        if raw[end] != "}":
            continue
        try:
            value = json.loads(raw[: end + 1] + "]}")
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def extract_types(
    llm: JsonLLM, extractors: Sequence[Extractor], events: Sequence[Event], now: datetime
) -> list[Candidate]:
    """ONE schema-constrained call that fills every routed type at once."""
    raw = llm.complete_json(
        build_messages(combined_task(extractors), events, now),
        _combined_schema(extractors, len(events)),
        min(sum(e.max_tokens for e in extractors), COMBINED_MAX_TOKENS),
    )
    try:
        answer = json.loads(raw)
    except json.JSONDecodeError:
        answer = salvage_combined(raw) or {}
    if not isinstance(answer, dict):
        raise ExtractionError("extractor: expected a JSON object")
    candidates = []
    for extractor in extractors:
        items = answer.get(extractor.type.value) or []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not set(extractor.properties) <= set(item):
                continue
            cited = _cited(item, events)
            ctx = ItemContext(tuple(e.id for e in cited), cited[0].occurred_at)
            candidate = extractor.convert(item, ctx)
            if candidate is not None:
                candidates.append(candidate)
    return candidates


def _source_text(candidate: Candidate, events: Sequence[Event]) -> str:
    cited = [e for e in events if e.id in candidate.source_event_ids] or list(events)
    return "\n".join(e.text for e in cited)


def ground(candidates: Sequence[Candidate], events: Sequence[Event]) -> tuple[list[Candidate], int]:
    """The candidates the events support (procedures with every listed step, in order),
    and how many were dropped."""
    kept: list[Candidate] = []
    for candidate in candidates:
        source = _source_text(candidate, events)
        if candidate.type is MemoryType.PROCEDURAL:
            candidate = with_source_steps(candidate, source)
        if supported(candidate, source):
            kept.append(candidate)
    return kept, len(candidates) - len(kept)


def routes(
    events: Sequence[Event], embedder: Embedder | None
) -> tuple[set[MemoryType], set[MemoryType]]:
    """(learned, exact rules). Without a router for this embedder the old rules route
    (with their fallback) and nothing is learned."""
    router = learned_router.for_embedder(embedder.name) if embedder is not None else None
    has_vault = bool(pattern_vault_candidates(events)) or any(MASK in e.text for e in events)
    if router is None or embedder is None:
        return set(), set(combine([], rule_routes("\n".join(e.text for e in events), has_vault)))
    learned = router.routes(events, embedder.embed(learned_router.windows(events)))
    return learned, {MemoryType.VAULT} if has_vault else set()


def extract_batch(
    llm: JsonLLM, events: Sequence[Event], now: datetime, embedder: Embedder | None = None
) -> BatchExtraction:
    """Route (learned), then ONE call fills every routed type; what the events do not
    support is dropped. Vault values found as events were recorded are masked already;
    the model is asked for vault items only when none was found that way."""
    pattern_vault = pattern_vault_candidates(events)
    by_model, by_rules = routes(events, embedder)
    routed = by_model | by_rules
    masked = any(MASK in e.text for e in events)
    wanted = set(routed)
    if MemoryType.CORE in wanted:  # what the user says of themselves is a fact about them too
        wanted.add(MemoryType.SEMANTIC)
    asked = [
        EXTRACTORS[t]
        for t in MemoryType
        if t in wanted and not (t is MemoryType.VAULT and (masked or pattern_vault))
    ]
    candidates: list[Candidate] = []
    if asked:
        candidates = extract_types(llm, asked, events, now)
    kept, dropped = ground(candidates, events)
    return BatchExtraction(
        tuple(t for t in MemoryType if t in by_model),
        tuple(t for t in MemoryType if t in by_rules and t not in by_model),
        tuple(keep_trusted(events, [*pattern_vault, *kept])),  # instructions write nothing
        dropped,
        1 if asked else 0,
    )

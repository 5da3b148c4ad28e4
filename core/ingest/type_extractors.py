"""One extractor per memory type: its JSON schema (enforced by llama.cpp's grammar), its
prompt template in ``assets/prompts/`` and how one JSON item becomes a :class:`Candidate`.

Schemas bound every string and list, and the ``events`` items are an enum of the batch's
aliases (1..n), so the model can only cite events that exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from core.records import EventId, MemoryType
from core.store.vault import SENSITIVITY, VAULT_TYPES
from core.time_grammar.relative import absolutize, parse_when


@dataclass(frozen=True)
class Candidate:
    """A memory an extractor proposes; reconcile decides what becomes of it."""

    type: MemoryType
    text: str
    key: str
    source_event_ids: tuple[EventId, ...]
    event_time: datetime | None
    fields: dict[str, str] = field(default_factory=dict)
    sensitivity: str = "normal"
    secret: str = ""  # vault value, clear text; encrypted before it is stored
    actor: str = "extractor"


def normalize(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _string(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length}


def items_schema(properties: dict[str, Any], aliases: int, max_items: int) -> dict[str, Any]:
    props = {
        **properties,
        "events": {
            "type": "array",
            "items": {"type": "integer", "enum": list(range(1, aliases + 1))},
            "minItems": 1,
            "maxItems": min(aliases, 4),
        },
    }
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": max_items,
        "items": {"type": "object", "properties": props, "required": list(props)},
    }


@dataclass(frozen=True)
class ItemContext:
    """What converting one extracted item needs to know about its batch."""

    source_event_ids: tuple[EventId, ...]
    anchor: datetime  # the time of the first cited event: relative times resolve against it


def _when(
    item: dict[str, Any], text: str, ctx: ItemContext
) -> tuple[str, datetime, dict[str, str]]:
    """Rewrite relative times in ``text`` to absolute dates; the memory's event time is
    the resolved date (from ``when`` or the text), else the event's own time."""
    text, in_text = absolutize(text, ctx.anchor)
    # a phrase in the text wins: a small model's "when" often just copies the event's date
    day: date | None = in_text or parse_when(str(item.get("when", "")), ctx.anchor)
    if day is None:
        return text, ctx.anchor, {}
    moment = ctx.anchor if day == ctx.anchor.date() else datetime.combine(day, time(12), UTC)
    return text, moment, {"date": day.isoformat()}


# Attribute names that mean one slot of a person's life, so a new value replaces the old
# ("occupation" after "job"). Spelling variants fold too (favorite -> favourite).
_ATTRIBUTE_FAMILIES: dict[str, tuple[str, ...]] = {
    "job": (
        "job",
        "occupation",
        "work",
        "works as",
        "profession",
        "employer",
        "workplace",
        "works at",
        "company",
        "position",
        "role",
        "career",
        "employment",
        "current job",
    ),
    "home": (
        "home",
        "city",
        "residence",
        "lives in",
        "location",
        "hometown",
        "house",
        "lives",
        "current city",
        "living",
        "place of residence",
    ),
    "car": ("car", "vehicle", "drives", "automobile"),
    "partner": (
        "partner",
        "boyfriend",
        "girlfriend",
        "husband",
        "wife",
        "spouse",
        "relationship",
        "dating",
        "seeing",
    ),
}
_FAMILY = {name: family for family, names in _ATTRIBUTE_FAMILIES.items() for name in names}
_USER_SUBJECTS = frozenset({"user", "the user", "i", "me", "myself", "speaker", "the speaker"})


def attribute_family(attribute: str) -> str:
    """The slot an attribute name fills (``job`` for "occupation"), else its own name."""
    name = normalize(attribute).replace("favorite", "favourite")
    return _FAMILY.get(name, name)


def canonical_subject(subject: str) -> str:
    """``user`` for the user however the model names them; other subjects unchanged."""
    return "user" if normalize(subject) in _USER_SUBJECTS else subject


def _semantic(item: dict[str, Any], ctx: ItemContext) -> Candidate | None:
    subject, attribute, value = (str(item[k]).strip() for k in ("subject", "attribute", "value"))
    if not (subject and value):
        return None
    subject = canonical_subject(subject)
    statement = str(item["statement"]).strip() or f"{subject} {attribute}: {value}"
    text, when, extra = _when(item, statement, ctx)
    return Candidate(
        MemoryType.SEMANTIC,
        text,
        f"{normalize(subject)}|{attribute_family(attribute)}",
        ctx.source_event_ids,
        when,
        {"subject": subject, "attribute": attribute, "value": value, **extra},
    )


_ABOUT_ASSISTANT = re.compile(
    r"\b(assistant|rememora|answer|reply|respond|talk to|call me)\b", re.I
)


def _core(item: dict[str, Any], ctx: ItemContext) -> Candidate | None:
    statement = str(item["statement"]).strip()
    if len(statement.split()) < 3:  # a label such as "human", not a statement
        return None
    block = str(item["block"])
    if block == "persona" and not _ABOUT_ASSISTANT.search(statement):
        block = "human"  # small models mislabel facts about the user as persona
    return Candidate(
        MemoryType.CORE, statement, block, ctx.source_event_ids, None, {"block": block}
    )


def _episodic(item: dict[str, Any], ctx: ItemContext) -> Candidate | None:
    summary = str(item["summary"]).strip()
    if not summary:
        return None
    text, when, extra = _when(item, summary, ctx)
    actor = str(item["actor"]).strip() or "user"
    return Candidate(
        MemoryType.EPISODIC,
        text,
        "",
        ctx.source_event_ids,
        when,
        {"actor": actor, "event_type": "extracted", "summary": text, **extra},
    )


def _procedural(item: dict[str, Any], ctx: ItemContext) -> Candidate | None:
    title = str(item["title"]).strip()
    steps = [s.strip() for s in item["steps"] if str(s).strip()]
    if not (title and steps):
        return None
    numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, start=1))
    trigger = str(item["trigger"]).strip()
    return Candidate(
        MemoryType.PROCEDURAL,
        f"{title}:\n{numbered}",
        normalize(title),
        ctx.source_event_ids,
        ctx.anchor,
        {"title": title, "trigger": trigger, "steps": numbered},
    )


def _resource(item: dict[str, Any], ctx: ItemContext) -> Candidate | None:
    title, locator = str(item["title"]).strip(), str(item["locator"]).strip()
    if not (title or locator):
        return None
    summary = str(item["summary"]).strip()
    text = f"{title} ({item['resource_type']}: {locator})" + (f" {summary}" if summary else "")
    return Candidate(
        MemoryType.RESOURCE,
        text,
        normalize(locator or title),
        ctx.source_event_ids,
        ctx.anchor,
        {
            "title": title,
            "resource_type": str(item["resource_type"]),
            "locator": locator,
            "summary": summary,
        },
    )


def vault_candidate(
    label: str, vault_type: str, value: str, sensitivity: str, ctx: ItemContext, actor: str
) -> Candidate:
    label = label.strip() or vault_type.replace("_", " ")
    return Candidate(
        MemoryType.VAULT,
        f"{label} ({vault_type.replace('_', ' ')})",
        f"{vault_type}|{normalize(label)}",
        ctx.source_event_ids,
        ctx.anchor,
        {"label": label, "vault_type": vault_type},
        sensitivity,
        value.strip(),
        actor,
    )


def _vault(item: dict[str, Any], ctx: ItemContext) -> Candidate | None:
    value = str(item["value"]).strip()
    if len(value) < 3:
        return None
    return vault_candidate(
        str(item["label"]),
        str(item["vault_type"]),
        value,
        str(item["sensitivity"]),
        ctx,
        "extractor",
    )


@dataclass(frozen=True)
class Extractor:
    type: MemoryType
    prompt: str
    list_key: str
    properties: dict[str, Any]
    max_items: int
    max_tokens: int
    convert: Callable[[dict[str, Any], ItemContext], Candidate | None]

    def schema(self, aliases: int) -> dict[str, Any]:
        return {
            "type": "object",
            "required": [self.list_key],
            "properties": {self.list_key: items_schema(self.properties, aliases, self.max_items)},
        }


EXTRACTORS: dict[MemoryType, Extractor] = {
    e.type: e
    for e in (
        Extractor(
            MemoryType.CORE,
            "extract_core.txt",
            "items",
            {"block": {"type": "string", "enum": ["human", "persona"]}, "statement": _string(120)},
            3,
            160,
            _core,
        ),
        Extractor(
            MemoryType.EPISODIC,
            "extract_episodic.txt",
            "episodes",
            {"actor": _string(40), "summary": _string(140), "when": _string(30)},
            2,
            160,
            _episodic,
        ),
        Extractor(
            MemoryType.SEMANTIC,
            "extract_semantic.txt",
            "facts",
            {
                "subject": _string(40),
                "attribute": _string(30),
                "value": _string(60),
                "statement": _string(120),
                "when": _string(30),
            },
            4,
            320,
            _semantic,
        ),
        Extractor(
            MemoryType.PROCEDURAL,
            "extract_procedural.txt",
            "procedures",
            {
                "title": _string(60),
                "trigger": _string(80),
                "steps": {"type": "array", "items": _string(100), "minItems": 1, "maxItems": 8},
            },
            1,
            300,
            _procedural,
        ),
        Extractor(
            MemoryType.RESOURCE,
            "extract_resource.txt",
            "resources",
            {
                "title": _string(60),
                "resource_type": {
                    "type": "string",
                    "enum": ["file", "url", "document", "code", "other"],
                },
                "locator": _string(120),
                "summary": _string(160),
            },
            2,
            220,
            _resource,
        ),
        Extractor(
            MemoryType.VAULT,
            "extract_vault.txt",
            "entries",
            {
                "label": _string(40),
                "vault_type": {"type": "string", "enum": list(VAULT_TYPES)},
                "value": _string(80),
                "sensitivity": {"type": "string", "enum": list(SENSITIVITY)},
            },
            3,
            200,
            _vault,
        ),
    )
}

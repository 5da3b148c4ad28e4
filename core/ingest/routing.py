"""Which memory types a batch touches.

Two informants, each measured per type by bench/memory_extraction.py --route-only (which
of them is used, per type, is MODEL_ROUTED below):

* rules: what the text shows by its form (vault patterns, sequenced steps, links and file
  names, time expressions, the user describing themselves). Deterministic and cheap.
* the model: ONE short yes/no question per type with a crisp definition. With llama.cpp
  the answer is scored in one forward pass (log P(yes) - log P(no) of the first answer
  token: the choice a yes/no grammar would make greedily) and calibrated against the
  same question about a content-free turn, because small models lean to "yes" whatever
  they read (asked to *list* types, they named the same three every time). A server
  backend answers grammar-constrained JSON ``{"answer": "yes"|"no"}`` instead. The
  questions follow the same events block, so the events are evaluated once and each
  question costs a few tokens.

The events are data (see core.ingest.batch_extraction's system prompt); the answer can only be yes or
no, so text in a chat cannot make the router do anything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from string import Template
from typing import Any

from core.records import MemoryType

ROUTE_QUESTIONS: dict[MemoryType, str] = {
    MemoryType.CORE: "does the user say something lasting about THEMSELVES (their own name, "
    "job, family, diet, habits, likes) or how the assistant should talk to them",
    MemoryType.EPISODIC: "do the events tell of something that happened or is planned at a "
    "particular time (a trip, a meeting, an appointment, an outing)",
    MemoryType.SEMANTIC: "do the events state a fact about some person, place, thing or idea",
    MemoryType.PROCEDURAL: "do the events explain how to do something, step by step",
    MemoryType.RESOURCE: "do the events name a file, document, web link, paper or piece of code",
    MemoryType.VAULT: "do the events contain a private detail: a street address, password, "
    "PIN or door code, account, card, passport or phone number",
}

YES_NO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["answer"],
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
}
YES_NO_MAX_TOKENS = 12
NEUTRAL_TEXT = "ok."  # the content-free turn a model's yes/no leaning is calibrated on

# The types whose model answer is used: chosen from the per-type precision/recall and
# margin AUC that bench/memory_extraction.py --route-only measured on the labelled
# snippets. For SmolLM2-135M and Qwen2.5-Coder-0.5B the calibrated yes/no margins did not
# separate the types (AUC 0.3-0.7 on most, 0.47 and 0.40 on semantic) while the rules were
# precise, so no model answer is used: rules route, and a batch they route nowhere goes to
# the semantic extractor (FALLBACK). A larger model may earn a place here; measure first.
MODEL_ROUTED: tuple[MemoryType, ...] = ()
FALLBACK = MemoryType.SEMANTIC


def question_task(memory_type: MemoryType) -> str:
    from assets import read_text

    return (
        Template(read_text("prompts/route_question.txt"))
        .substitute(type=memory_type.value, question=ROUTE_QUESTIONS[memory_type])
        .strip()
    )


def parse_yes_no(raw: str) -> bool | None:
    """True/False from the grammar-constrained answer; None if it was cut short."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return isinstance(value, dict) and value.get("answer") == "yes"


_STEPS = re.compile(
    r"\b(first|then|next|after that|finally|step \d)\b|^\s*\d[.)] |\s\d[.)] [a-z]", re.I | re.M
)
RESOURCE_FORM = _RESOURCE = re.compile(
    r"https?://\S+|\b[\w-]+\.(pdf|docx?|xlsx?|pptx?|csv|md|txt|py|js|ts|json)\b"
    r"|(?:~|/)[\w.-]+/[\w./-]+",
    re.I,
)
_WEEKDAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend)"
_TIME = re.compile(
    rf"\b(yesterday|today|tonight|tomorrow|this morning|this evening|(last|next|this|on) {_WEEKDAY}"
    r"|(last|next|this|past) (week|month|year)|\d+ (days?|weeks?|months?|years?) ago"
    r"|(a|one|two|three|four|five|six) (days?|weeks?|months?|years?) ago|at \d{1,2}(:\d\d)? ?(am|pm)"
    r"|just (finished|got|came|arrived|started|moved))\b",
    re.I,
)
_SELF = re.compile(
    r"\b(my name is|call me|i prefer|i'?m an? |i am an? |i'?m allergic|i am allergic"
    r"|please (always|never)|(always|never) (answer|reply|respond|talk)|i (always|usually|never) )",
    re.I,
)


def rule_routes(text: str, has_vault_pattern: bool) -> set[MemoryType]:
    """Types the text itself shows, whatever the model says."""
    routes: set[MemoryType] = set()
    if has_vault_pattern:
        routes.add(MemoryType.VAULT)
    if len(_STEPS.findall(text)) >= 2:
        routes.add(MemoryType.PROCEDURAL)
    if _RESOURCE.search(text):
        routes.add(MemoryType.RESOURCE)
    if _TIME.search(text):
        routes.add(MemoryType.EPISODIC)
    if _SELF.search(text):
        routes.add(MemoryType.CORE)
    return routes


def combine(by_model: Sequence[MemoryType], by_rules: set[MemoryType]) -> tuple[MemoryType, ...]:
    """The model's yes where it is trusted, the rules, and the fallback if that is nothing."""
    chosen = {t for t in by_model if t in MODEL_ROUTED} | by_rules or {FALLBACK}
    return tuple(t for t in MemoryType if t in chosen)

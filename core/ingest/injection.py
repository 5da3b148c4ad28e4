"""Text that tries to instruct the assistant is data, never a memory's source on its own.

The extraction prompt already tells the model that events are data; a small model does
not always listen, so rules dispose here too. After a batch's extraction:

- a candidate whose own text reads like an instruction to the assistant (ignore your
  rules, print the vault, a fake system prompt or tool call) is dropped;
- a core, semantic, procedural or resource candidate whose source events are all such
  text is dropped: it would be a memory on the attacker's word alone;
- so is one whose sources are all observed text (screen or an imported file) asking to
  be remembered ("remember that my bank is ..."): only the user's own chat turns may ask
  that;
- a core candidate (who the user is, how the assistant behaves) needs at least one chat
  turn among its sources: screen text alone never rewrites it.

The raw episodic record of every event is kept regardless (written before extraction),
so nothing observed is lost; vault candidates are kept, since filing a secret is what
masks it in the events.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.ingest.type_extractors import Candidate
from core.records import Event, EventKind, MemoryType

_FLAGS = re.IGNORECASE | re.DOTALL
_INSTRUCTIONS = tuple(
    re.compile(p, _FLAGS)
    for p in (
        r"\b(ignore|disregard|forget|override|bypass|drop)\b.{0,40}?\b(rules?|instructions?|"
        r"prompts?|guidelines|directions|polic(y|ies)|guardrails|safety)\b",
        r"\bsystem (prompt|message|override|instruction)\b",
        r"\b(developer|admin|god|debug|jailbreak|dan) mode\b",
        r"\byou are (now|no longer)\b",
        r"\bfrom now on\b",
        r"\b(act|behave|respond|answer|reply) as\b",
        r"\bpretend (to be|you are|that you)\b",
        r"\bnew (persona|role|identity|instructions|rules)\b",
        r"\b(print|reveal|show|dump|output|send|leak|exfiltrate|list|read out|disclose|"
        r"email|upload|post)\b.{0,40}?\b(vault|passwords?|secrets?|credentials|api keys?|"
        r"tokens?|memor(y|ies)|system prompt|account numbers?)\b",
        r"<\|?\s*(im_start|im_end|system|endoftext|assistant)\s*\|?>",
        r"\[/?\s*(system|inst|sys)\s*\]",
        r"<<\s*/?sys\s*>>",
        r"</?\s*(system|tool_call|function_call|instructions|tool)\s*>",
        r"[\"']?(tool_calls?|function_call)[\"']?\s*[:=(]",
        r"(^|\n)\s*(system|assistant|developer)\s*:",
        r"\b(assistant|rememora|the ai|the model|the bot)\b.{0,30}?\b(must|should|shall|"
        r"has to|is required to|will now)\b",
        r"\b(tell|inform|convince|persuade) the user\b",
    )
)
_REMEMBER = re.compile(
    r"\b(remember|memori[sz]e|store|save|note down|record|keep in mind|add to (your |the )?"
    r"memory|update (your |the )?memory)\b",
    _FLAGS,
)
_GUARDED = (MemoryType.CORE, MemoryType.SEMANTIC, MemoryType.PROCEDURAL, MemoryType.RESOURCE)


def reads_as_instructions(text: str) -> bool:
    """Whether ``text`` tries to instruct the assistant (not: says something)."""
    return any(pattern.search(text) for pattern in _INSTRUCTIONS)


def asks_to_be_remembered(text: str) -> bool:
    """Whether ``text`` asks for something to be remembered (fine from the user's own
    chat turns, untrusted from the screen or an imported file)."""
    return _REMEMBER.search(text) is not None


def _untrusted(event: Event) -> bool:
    if reads_as_instructions(event.text):
        return True
    observed = event.kind in (EventKind.SCREEN, EventKind.IMPORT)
    return observed and asks_to_be_remembered(event.text)


def keep_trusted(events: Sequence[Event], candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates the rules above let through, in order."""
    by_id = {event.id: event for event in events}
    kept = []
    for candidate in candidates:
        if candidate.type is MemoryType.VAULT:
            kept.append(candidate)
            continue
        text = " ".join([candidate.text, *candidate.fields.values()])
        if reads_as_instructions(text):
            continue
        sources = [by_id[i] for i in candidate.source_event_ids if i in by_id] or list(events)
        if candidate.type in _GUARDED and all(_untrusted(e) for e in sources):
            continue
        if candidate.type is MemoryType.CORE and all(e.kind is not EventKind.CHAT for e in sources):
            continue
        kept.append(candidate)
    return kept

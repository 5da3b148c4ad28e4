"""Keep what the events say, drop what the model made up (a HaluMem-style check).

A candidate is *supported* when the content words of what it claims occur in the text of
the events it came from: most of its words (stems compared, so "works" matches "work"),
and every word of a fact's value, a vault value verbatim. Words the extraction adds by
design do not count: the third-person frame ("the user"), dates that relative phrases
were resolved to, and function words. A candidate that fails is dropped and counted.

A procedure keeps every step in order: when the source lists the steps itself (clauses
separated by commas, "then", semicolons or numbers), the steps are the source's clauses
(a small model drops or merges steps); otherwise the model's steps the source supports.
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.ingest.type_extractors import Candidate
from core.records import MemoryType
from core.store.vault import MASK

_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
_ISO = re.compile(r"\b\d{4}-\d\d(?:-\d\d)?\b")
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "should",
        "may",
        "might",
        "must",
        "shall",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "he",
        "she",
        "they",
        "them",
        "their",
        "his",
        "her",
        "him",
        "we",
        "us",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "mine",
        "myself",
        "yourself",
        "themselves",
        "himself",
        "herself",
        "who",
        "whom",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
        "not",
        "no",
        "yes",
        "also",
        "just",
        "now",
        "currently",
        "very",
        "really",
        "some",
        "any",
        "all",
        "each",
        "every",
        "both",
        "more",
        "most",
        "other",
        "such",
        "than",
        "too",
        "only",
        "own",
        "same",
        "again",
        "once",
        "up",
        "down",
        "out",
        "over",
        "under",
        "after",
        "before",
        "s",
        "t",
        "user",
        "users",
        "user's",
        "speaker",
        "someone",
        "person",
        "people",
        "assistant",
        "named",
        "called",
        "week",
        "month",
        "year",
        "day",
        "days",
        "today",
        "on",
        "in",
        "the",
        "past",
    ]
)
_MONTHS_DAYS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
MIN_SUPPORTED = 0.6


def _words(text: str) -> list[str]:
    text = _ISO.sub(" ", text.lower().replace(MASK, " "))
    return [
        w.strip("'-")
        for w in _WORD.findall(text)
        if w.strip("'-") not in FUNCTION_WORDS and w.strip("'-") not in _MONTHS_DAYS
    ]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:5]


def _found(word: str, source_words: set[str], source_stems: set[str]) -> bool:
    return word in source_words or _stem(word) in source_stems


def support(claim: str, source: str) -> float:
    """The share of the claim's content words that occur in the source (1.0 if none)."""
    words = _words(claim)
    if not words:
        return 1.0
    source_words = set(_words(source))
    stems = {_stem(w) for w in source_words}
    return sum(_found(w, source_words, stems) for w in words) / len(words)


def _claims(candidate: Candidate) -> tuple[str, list[str]]:
    """What the candidate says (checked for MIN_SUPPORTED) and the parts that must be
    fully in the source."""
    f = candidate.fields
    if candidate.type is MemoryType.SEMANTIC:
        return candidate.text, [f.get("value", ""), f.get("subject", "")]
    if candidate.type is MemoryType.PROCEDURAL:
        return f.get("title", ""), []
    if candidate.type is MemoryType.RESOURCE:
        return " ".join([f.get("title", ""), f.get("summary", "")]), [f.get("locator", "")]
    if candidate.type is MemoryType.EPISODIC:
        return f.get("summary", candidate.text), []
    return candidate.text, []


def supported(candidate: Candidate, source: str) -> bool:
    if candidate.type is MemoryType.VAULT:
        secret = candidate.secret.strip()
        return bool(secret) and MASK not in secret and secret.lower() in source.lower()
    claim, required = _claims(candidate)
    if support(claim, source) < MIN_SUPPORTED:
        return False
    return all(support(part, source) == 1.0 for part in required if part.strip())


# -- procedure steps ---------------------------------------------------------------------
_PURPOSE = re.compile(
    r"^\s*(?:(?:to|for|when|if|before|after|while)\s[^,:.]*?(?:[,:]|\s(?=(?:i|we|you)\s))"
    r"|[^,:.]{0,60}:)\s*",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r",\s*|;\s*|\s+then\s+|\s*\n\s*(?:\d+[.)]\s*)?", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_LEAD = re.compile(
    r"^(?:(?:and|then|finally|next|after that|first|lastly|i|we|you)\s+)+", re.IGNORECASE
)


def source_steps(text: str) -> tuple[str, list[str]]:
    """The purpose the source states (may be empty) and the steps it lists, in order;
    no steps unless it lists at least three. Of several sentences, the one listing the
    most clauses is the procedure."""
    sentences = [x for x in _SENTENCE.split(text) if x.strip()] or [text]
    text = max(sentences, key=lambda x: len(_SEPARATOR.findall(x)))
    purpose_match = _PURPOSE.match(text)
    purpose = purpose_match.group(0).strip(" ,:") if purpose_match else ""
    body = text[purpose_match.end() :] if purpose_match else text
    steps = []
    for clause in _SEPARATOR.split(body):
        clause = _LEAD.sub("", clause.strip(" .!?\"'")).strip()
        if len(clause.split()) >= 1 and any(c.isalpha() for c in clause):
            steps.append(clause[0].upper() + clause[1:])
    return (purpose, steps) if len(steps) >= 3 else (purpose, [])


def _title_of(purpose: str) -> str:
    words = re.sub(r"^(?:to|for|when|if|before|after|while)\s+", "", purpose, flags=re.IGNORECASE)
    return words[:1].upper() + words[1:]


def with_source_steps(candidate: Candidate, source: str) -> Candidate:
    """A procedure whose steps are the source's own, in order, when the source lists
    them; its trigger is the purpose the source states, and so is its title when the
    model's title is not supported by the source."""
    purpose, steps = source_steps(source)
    model_steps = [
        line.split(". ", 1)[-1] for line in candidate.fields.get("steps", "").splitlines()
    ]
    fields = dict(candidate.fields)
    if purpose:
        fields["trigger"] = purpose
    if steps:
        numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, start=1))
        fields["steps"] = numbered
        title = fields.get("title", "")
        if purpose and support(title, source) < MIN_SUPPORTED:
            # the steps are the source's own; a title the source does not say gives way
            # to the purpose it states ("To deploy the site" -> "Deploy the site")
            title = _title_of(purpose)
            fields["title"] = title
        text = f"{title}:\n{numbered}"
    else:
        steps = [s for s in model_steps if support(s, source) >= 0.5]
        numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, start=1))
        fields["steps"] = numbered
        text = f"{fields.get('title', '')}:\n{numbered}"
    return replace(candidate, text=text, fields=fields)

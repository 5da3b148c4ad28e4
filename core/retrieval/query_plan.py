"""Active retrieval, step one (as in MIRIX): before searching, derive from the question
its topic keywords, the people it is about and the time it points at.

This step is rule-based and costs well under a millisecond: no model is called. It reads
the store's known speakers so that "What did Melanie paint?" becomes keywords
``paint`` plus the speaker ``Melanie``, and "What did I say about my car?" becomes
keywords ``car`` plus the speaker ``user``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from core.store.ledger import STOPWORDS
from core.time_grammar.windows import TimeWindow, parse_time_window

USER = "user"
ASSISTANT = "assistant"
_QUESTION_WORDS = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "did",
        "does",
        "do",
        "was",
        "were",
        "is",
        "are",
        "has",
        "have",
        "kind",
        "type",
        "sort",
        "thing",
        "things",
        "something",
        "anything",
        "ever",
        "recently",
        "many",
        "much",
    ]
)
_FIRST_PERSON = re.compile(r"\b(i|me|my|mine|myself|i'm|i've|i'd|i'll)\b", re.I)
_SECOND_PERSON = re.compile(
    r"\b(you|your|yours|yourself)\b.*\b(told|tell|said|say|suggest\w*|recommend\w*|mention\w*|"
    r"gave|give|provid\w*|list\w*|explain\w*|shar\w*)\b|\b(told|recommended|suggested|mentioned)\s+me\b",
    re.I,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_BETWEEN = re.compile(r"\bbetween\s+(.+?)\s+and\s+(.+)$", re.I)
_ALTERNATIVES = re.compile(r"^(.+?)[,:]\s+(.+?)\s+or\s+(.+)$", re.I)


def _clean(text: str) -> str:
    return text.strip(" ,;:?.!")


def comparison_sides(question: str) -> tuple[str, ...]:
    """The parts a question that compares two things asks about, each as a question of
    its own: "How many days passed between my visit to MoMA and the exhibit at the Met?"
    becomes one question per visit, "Which came first, the tomatoes or the marigolds?" one
    per plant. Each answer often sits in a different session, and one embedding of the
    whole question lands near whichever part dominates it.

    Only the two shapes whose parts can be read without a parser are split: "between A and
    B" and "…, A or B". A plain "and" is left whole: "Mel and her kids made…" or "education
    and infrastructure in…" cannot be cut into questions by rule (a short-conjunct rule
    was tried: on LOCOMO it lost as much as it gained). Only the last sentence is read
    (what comes before is preamble)."""
    parts = comparison_parts(question)
    if parts is None:
        return ()
    head, first, second = parts
    return (_clean(f"{head} {first}"), _clean(f"{head} {second}"))


def comparison_parts(question: str) -> tuple[str, str, str] | None:
    """The words before the comparison and its two sides, as written ("Which came
    first", "the tomatoes", "the marigolds"), read as :func:`comparison_sides` reads them;
    None for a question that compares nothing."""
    sentence = _clean(_SENTENCE_END.split(question.strip())[-1])
    if match := _BETWEEN.search(sentence):
        head = sentence[: match.start()].strip()
        return head, _clean(match.group(1)), _clean(match.group(2))
    if match := _ALTERNATIVES.match(sentence):
        return match.group(1).strip(), _clean(match.group(2)), _clean(match.group(3))
    return None


@dataclass(frozen=True)
class QueryPlan:
    question: str
    keywords: tuple[str, ...]
    speakers: frozenset[str]
    window: TimeWindow | None
    parts: tuple[str, ...] = ()  # a comparison: one question per side
    part_topics: tuple[str, ...] = ()  # the content words of each part

    @property
    def topic(self) -> str:
        """The question reduced to its content words (what the lexical search matches)."""
        return " ".join(self.keywords)


def _speaker_names(question: str, known: Iterable[str]) -> set[str]:
    found: set[str] = set()
    lowered = question.lower()
    for name in known:
        first = name.split()[0].lower() if name.split() else ""
        if len(first) > 1 and re.search(rf"\b{re.escape(first)}(?:'s)?\b", lowered):
            found.add(name)
    return found


def analyse(question: str, known_speakers: Iterable[str], now: datetime) -> QueryPlan:
    known = [s for s in known_speakers if s]
    speakers = _speaker_names(question, [s for s in known if s not in (USER, ASSISTANT)])
    if USER in known and _FIRST_PERSON.search(question):
        speakers.add(USER)
    if ASSISTANT in known and _SECOND_PERSON.search(question):
        speakers.add(ASSISTANT)
    window = parse_time_window(question, now)
    names = {part.lower() for s in speakers for part in s.split()}
    skipped = set(window.expression.lower().split()) if window else set()
    parts = comparison_sides(question)
    return QueryPlan(
        question,
        _keywords(question, names | skipped),
        frozenset(speakers),
        window,
        parts,
        tuple(" ".join(_keywords(p, names | skipped)) for p in parts),
    )


def _keywords(text: str, skipped: set[str]) -> tuple[str, ...]:
    words = [w.lower().strip("'-") for w in _WORD.findall(text)]
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    return tuple(
        w
        for w in dict.fromkeys(words)
        if w and w not in STOPWORDS and w not in _QUESTION_WORDS and w not in skipped
    )

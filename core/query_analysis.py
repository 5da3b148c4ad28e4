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

from core.ledger import STOPWORDS
from core.time_expressions import TimeWindow, parse_time_window

USER = "user"
ASSISTANT = "assistant"
_QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how did does do was were is are has have "
    "kind type sort thing things something anything ever recently many much".split()
)
_FIRST_PERSON = re.compile(r"\b(i|me|my|mine|myself|i'm|i've|i'd|i'll)\b", re.I)
_SECOND_PERSON = re.compile(
    r"\b(you|your|yours|yourself)\b.*\b(told|tell|said|say|suggest\w*|recommend\w*|mention\w*|"
    r"gave|give|provid\w*|list\w*|explain\w*|shar\w*)\b|\b(told|recommended|suggested|mentioned)\s+me\b",
    re.I,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


@dataclass(frozen=True)
class QueryPlan:
    question: str
    keywords: tuple[str, ...]
    speakers: frozenset[str]
    window: TimeWindow | None

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
    words = [w.lower().strip("'-") for w in _WORD.findall(question)]
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    keywords = [
        w for w in dict.fromkeys(words)
        if w and w not in STOPWORDS and w not in _QUESTION_WORDS and w not in names
        and w not in skipped
    ]
    return QueryPlan(question, tuple(keywords), frozenset(speakers), window)

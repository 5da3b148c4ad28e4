"""Date arithmetic computed in code, not by the model: small models cannot subtract
dates. A question's form says when it applies (read by rule, without a model):

- "how many days / weeks / months / years … between A and B", "how long … between A and
  B": the time between the two things;
- "which came (happened, did … ) first, A or B" (or last / later / earlier / more
  recently): the order of the two;
- "how many days / weeks / months / years ago …", "how long ago …": the time from one
  thing to now;
- "how many times …": the distinct days among the retrieved memories that name the
  thing asked about (the question's last content word, and any name in it), within the
  question's time window when it has one ("in 2023").

Each side is retrieved on its own (the question's two parts, as
:func:`core.retrieval.query_plan.comparison_sides` reads them), the best memory of each
gives its date (a relative time in its text, resolved against the memory's own date,
wins over the date it was said: "I adopted her three years ago"), and the answer is
stated directly, with the two memories cited. Anything else goes to the reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from nltk.stem import PorterStemmer  # type: ignore[import-untyped]

from core.records import Memory, SearchHit
from core.retrieval.query_plan import analyse, comparison_parts
from core.time_grammar.grammar import NUMBER_WORDS
from core.time_grammar.relative import find_relative_times

_STEMMER = PorterStemmer()

_UNIT_DAYS = {"day": 1.0, "week": 7.0, "month": 30.44, "year": 365.25}
_HOW_MANY_UNITS = re.compile(r"^\s*how\s+many\s+(day|week|month|year)s?\b", re.I)
_HOW_LONG = re.compile(r"^\s*how\s+long\b", re.I)
_AGO = re.compile(r"\bago\b", re.I)
_ORDER = re.compile(
    r"^\s*(?:which|what|who)\b.*?\b(first|earlier|sooner|last|later|more recently|most recently)\b",
    re.I,
)
_EARLIEST = frozenset({"first", "earlier", "sooner"})
_HOW_MANY_TIMES = re.compile(r"^\s*how\s+many\s+times\b", re.I)
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][a-z]+")
_NUMBER_NAMES = {v: w for w, v in NUMBER_WORDS.items() if len(w) > 2 and v <= 10}  # "three years"


@dataclass(frozen=True)
class Computed:
    """An answer computed from the memories' dates: its text and the memories it rests
    on (one per side)."""

    text: str
    memories: tuple[Memory, ...]


def memory_day(memory: Memory) -> date:
    """The day a memory is about: the first relative time in its text that names a day,
    resolved against the memory's own date, else that date."""
    moment = (memory.event_time or memory.created_at).astimezone()
    found = find_relative_times(memory.text, moment)
    return found[0].day if found else moment.date()


def _amount(days: int, unit: str | None) -> str:
    """``days`` in ``unit`` (or the coarsest unit that keeps it above one), in words."""
    days = abs(days)
    if unit is None:
        unit = next(
            (u for u in ("year", "month", "week") if days >= 2 * _UNIT_DAYS[u]),
            "day",
        )
    count = round(days / _UNIT_DAYS[unit])
    number = _NUMBER_NAMES.get(count, str(count)) if count != 1 else "one"
    return f"{number} {unit}{'' if count == 1 else 's'}"


def _best(search: Callable[[str], Sequence[SearchHit]], query: str) -> Memory | None:
    hits = search(query)
    return hits[0].memory if hits else None


def compute(
    question: str, search: Callable[[str], Sequence[SearchHit]], now: datetime
) -> Computed | None:
    """The answer to a date-arithmetic question, computed from the best memory of each
    side (``search`` retrieves for one side), or None when the question is not one."""
    if _HOW_MANY_TIMES.match(question):
        return _count(question, search, now)
    how_many = _HOW_MANY_UNITS.match(question)
    unit = how_many.group(1).lower() if how_many else None
    parts = comparison_parts(question)
    if (how_many or _HOW_LONG.match(question)) and _AGO.search(question) and not parts:
        memory = _best(search, question)
        if memory is None:
            return None
        day = memory_day(memory)
        return Computed(f"{_amount((now.date() - day).days, unit)} ago ({day:%Y-%m-%d})", (memory,))
    if parts is None:
        return None
    head, first_side, second_side = parts
    order = _ORDER.match(question)
    if not (how_many or _HOW_LONG.match(question) or order):
        return None
    first = _best(search, f"{head} {first_side}".strip())
    second = _best(search, f"{head} {second_side}".strip())
    if first is None or second is None or first.id == second.id:
        return None
    first_day, second_day = memory_day(first), memory_day(second)
    if order:
        wants_earliest = order.group(1).lower() in _EARLIEST
        if first_day == second_day:
            return None  # the same day: the dates cannot tell
        earlier_first = first_day < second_day
        picked = first_side if earlier_first == wants_earliest else second_side
        when = min(first_day, second_day) if wants_earliest else max(first_day, second_day)
        return Computed(f"{picked} ({when:%Y-%m-%d})", (first, second))
    low, high = sorted((first_day, second_day))
    return Computed(
        f"{_amount((high - low).days, unit)} ({low:%Y-%m-%d} to {high:%Y-%m-%d})",
        (first, second),
    )


def _stem(word: str) -> str:
    return str(_STEMMER.stem(word.lower()))


def _count(
    question: str, search: Callable[[str], Sequence[SearchHit]], now: datetime
) -> Computed | None:
    """How many distinct days the retrieved memories name the thing asked about."""
    plan = analyse(question, (), now)
    if not plan.keywords:
        return None
    wanted = {_stem(plan.keywords[-1])} | {_stem(n) for n in _NAME.findall(question)}
    days: dict[date, Memory] = {}
    for hit in search(question):
        words = {_stem(w) for w in re.findall(r"[A-Za-z]+", hit.memory.text)}
        day = memory_day(hit.memory)
        inside = plan.window is None or plan.window.start.date() <= day < plan.window.end.date()
        if wanted <= words and inside:
            days.setdefault(day, hit.memory)
    if not days:
        return None
    count = len(days)
    listed = ", ".join(f"{day:%Y-%m-%d}" for day in sorted(days))
    number = _NUMBER_NAMES.get(count, str(count)) if count != 1 else "once"
    times = "" if count == 1 else " times"
    return Computed(f"{number}{times} ({listed})", tuple(days[d] for d in sorted(days)))

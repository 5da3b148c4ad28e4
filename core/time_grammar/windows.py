"""Time expressions in a question turned into a time window.

"in May 2023", "on 8 May 2023", "in 2022", "last week", "yesterday", "3 days ago",
"last Saturday", "before June 2023", "after 2022", "in March" or "in March and April" (the
latest such months), "in the past three months", named days ("on Valentine's Day",
"at Christmas", "on Easter Sunday": the latest one), and what lies ahead ("tomorrow",
"next Friday", "next month", "two weeks from now"). Relative expressions are read against
``now`` (the moment the question is asked); their words and shapes are the write path's
(:mod:`core.time_grammar.grammar`), so whatever a memory's text resolved when it was
written, a question can name. Windows are deliberately generous: they become
a soft boost in retrieval, never a hard filter, because people say "in May" about things
they mention in June. Expressions anchored to events ("before the trip") need the event's
own time and are not resolved here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.easter import easter

from core.time_grammar.grammar import MONTH, TimePhrase, find_phrases, month_number

_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTH}),?\s+(\d{{4}})\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b({MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_MONTH_YEAR = re.compile(rf"\b({MONTH}),?\s+(\d{{4}})\b", re.I)
_YEAR = re.compile(r"\b(?:in|during|of|since|before|after|by)\s+((?:19|20)\d\d)\b", re.I)
_MONTHS_ALONE = re.compile(
    rf"\b(?:in|during|of|since|before|after|by|from)\s+({MONTH})"
    rf"(?:\s+(?:and|to|through|until|-)\s+({MONTH}))?\b",
    re.I,
)
_BEFORE = re.compile(r"\b(before|until|prior to)\b", re.I)
_AFTER = re.compile(r"\b(after|since)\b", re.I)
_NAMED_DAYS = re.compile(
    r"\b(valentine'?s(?: day)?|christmas(?: eve| day)?|new year'?s(?: eve| day)?|halloween|"
    r"thanksgiving|easter(?: sunday)?|good friday|st\.? patrick'?s day|independence day|"
    r"fourth of july|4th of july|mother'?s day|father'?s day|memorial day|labou?r day)\b",
    re.I,
)
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365, "weekend": 7}


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime
    expression: str

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _month_window(
    year: int, month: int, now: datetime, margin: timedelta
) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=now.tzinfo)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=now.tzinfo)
    return start - margin, end + margin


def _absolute(question: str, now: datetime) -> tuple[datetime, datetime, str] | None:
    for pattern, order in ((_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy")):
        if match := pattern.search(question):
            groups = match.groups()
            day, month, year = (
                (groups[0], groups[1], groups[2])
                if order == "dmy"
                else (groups[1], groups[0], groups[2])
            )
            try:
                moment = datetime(int(year), month_number(month), int(day), tzinfo=now.tzinfo)
            except ValueError:
                continue
            return moment - timedelta(days=3), moment + timedelta(days=4), match.group(0)
    if match := _MONTH_YEAR.search(question):
        start, end = _month_window(
            int(match.group(2)), month_number(match.group(1)), now, timedelta(days=7)
        )
        return start, end, match.group(0)
    if match := _YEAR.search(question):
        year = int(match.group(1))
        return (
            datetime(year, 1, 1, tzinfo=now.tzinfo),
            datetime(year + 1, 1, 1, tzinfo=now.tzinfo),
            match.group(0),
        )
    return None


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The nth (1-based; -1: last) given weekday of a month."""
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _named_day(name: str, year: int) -> date:
    key = name.lower().replace("'", "").replace(".", "")
    if key.startswith("easter"):
        return easter(year)
    if key == "good friday":
        return easter(year) - timedelta(days=2)
    if key == "thanksgiving":
        return _nth_weekday(year, 11, 3, 4)  # the United States' fourth Thursday
    if key.startswith("mother"):
        return _nth_weekday(year, 5, 6, 2)
    if key.startswith("father"):
        return _nth_weekday(year, 6, 6, 3)
    if key == "memorial day":
        return _nth_weekday(year, 5, 0, -1)
    if key.startswith("labo"):
        return _nth_weekday(year, 9, 0, 1)
    fixed = {
        "valentine": (2, 14),
        "christmas eve": (12, 24),
        "christmas": (12, 25),
        "new years eve": (12, 31),
        "new year": (1, 1),
        "halloween": (10, 31),
        "st patrick": (3, 17),
        "independence": (7, 4),
        "fourth of july": (7, 4),
        "4th of july": (7, 4),
    }
    month, day = next(v for k, v in fixed.items() if key.startswith(k))
    return date(year, month, day)


def _latest(month: int, now: datetime) -> int:
    """The year of the latest such month that has begun by ``now``."""
    return now.year if month <= now.month else now.year - 1


def _calendar(question: str, now: datetime) -> tuple[datetime, datetime, str] | None:
    """Months without a year and named days: the latest ones up to ``now``."""
    if match := _MONTHS_ALONE.search(question):
        first = month_number(match.group(1))
        last = month_number(match.group(2)) if match.group(2) else first
        year = _latest(last, now)
        start, _ = _month_window(year - (first > last), first, now, timedelta(days=7))
        _, end = _month_window(year, last, now, timedelta(days=7))
        return start, end, match.group(0)
    if match := _NAMED_DAYS.search(question):
        day = _named_day(match.group(1), now.year)
        if day > now.date():
            day = _named_day(match.group(1), now.year - 1)
        moment = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)
        return moment - timedelta(days=2), moment + timedelta(days=3), match.group(0)
    return None


def _around(now: datetime, days: int) -> tuple[datetime, datetime]:
    """ "N days ago" (``days`` < 0) or "N days from now": a quarter of the distance, at
    least two days, on either side of that day."""
    slack = max(2, abs(days) // 4)
    center = now + timedelta(days=days)
    return center - timedelta(days=slack), center + timedelta(days=slack)


def _named_weekday(phrase: TimePhrase, now: datetime) -> tuple[datetime, datetime]:
    """The day before to the day after: the latest such weekday before today when the
    phrase looks back ("last", "on", "this past"), the next one after today when it looks
    ahead ("next", "coming"), the coming one from today for "this"."""
    if phrase.looks_ahead or phrase.relation == "this":
        ahead = (phrase.weekday - now.weekday()) % 7
        days = ahead or (7 if phrase.looks_ahead else 0)
    else:
        days = -((now.weekday() - phrase.weekday) % 7 or 7)
    day = (now + timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=1), day + timedelta(days=2)


AHEAD = 6  # the rank of phrases that look ahead: read after months and named days


def _ranked_window(phrase: TimePhrase, now: datetime) -> tuple[int, datetime, datetime] | None:
    """(rank, start, end) of the window ``phrase`` gives in a question asked at ``now``, or
    None. When a question has several phrases the lowest rank wins (then the first):
    yesterday, today, "N units ago", a named weekday looking back, "the past N units",
    "last week". Phrases that look ahead ("tonight", "tomorrow", "next Friday", "two weeks
    from now": plans, stored at the day they name) rank :data:`AHEAD`: in a question they
    are mostly the occasion ("a film for tonight"), so any other time it names wins.
    "in two weeks" and "two weeks later" give none: in a question they mostly mean a
    duration ("what did I learn in two weeks?") or a time after some event."""
    kind, relation = phrase.kind, phrase.relation
    if kind == "near":
        if phrase.offset == -2:
            return 0, *_around(now, -2)
        if phrase.offset == -1:
            return 0, now - timedelta(days=2), now
        if phrase.offset == 0 and phrase.text.lower() == "today":
            return 1, now - timedelta(days=1), now + timedelta(days=1)
        if phrase.offset == 0:  # tonight
            return AHEAD, now - timedelta(days=1), now + timedelta(days=1)
        if phrase.offset == 1:
            return AHEAD, now, now + timedelta(days=2)
        return AHEAD, *_around(now, phrase.offset)  # the day after tomorrow
    if kind == "counted" and relation in ("ago", "from now"):
        days = phrase.count * _UNIT_DAYS[phrase.unit]
        return (2, *_around(now, -days)) if relation == "ago" else (AHEAD, *_around(now, days))
    if kind == "weekday":
        ahead = phrase.looks_ahead or relation == "this"
        return AHEAD if ahead else 3, *_named_weekday(phrase, now)
    if kind == "span":
        days = phrase.count * _UNIT_DAYS[phrase.unit]
        return 4, now - timedelta(days=days + max(2, days // 10)), now
    if kind == "unit":
        days = _UNIT_DAYS[phrase.unit]
        if phrase.looks_ahead:
            return AHEAD, now, now + timedelta(days=2 * days)
        return 5, now - timedelta(days=days if relation == "this" else 2 * days), now
    return None


def _relative(question: str, now: datetime, ahead: bool) -> tuple[datetime, datetime, str] | None:
    """The best window of the shared grammar's phrases (:mod:`core.time_grammar.grammar`)
    read against ``now``: of those that look ahead (``ahead``) or of the others."""
    best: tuple[int, datetime, datetime, str] | None = None
    for phrase in find_phrases(question):
        found = _ranked_window(phrase, now)
        if found is None or (found[0] >= AHEAD) != ahead:
            continue
        if best is None or found[0] < best[0]:
            best = (*found, phrase.text)
    return None if best is None else best[1:]


def parse_time_window(question: str, now: datetime) -> TimeWindow | None:
    """The window a question's time expression points at, or None when it has none."""
    found = (
        _absolute(question, now)
        or _relative(question, now, ahead=False)
        or _calendar(question, now)
        or _relative(question, now, ahead=True)
    )
    if found is None:
        return None
    start, end, expression = found
    before = question[: question.lower().find(expression.lower())]
    if _BEFORE.search(before[-20:]):
        start, end = start - timedelta(days=365), start + (end - start) / 2
    elif _AFTER.search(before[-20:]):
        start, end = start + (end - start) / 2, end + timedelta(days=365)
    return TimeWindow(start, end, expression)

"""Time expressions in a question turned into a time window.

"in May 2023", "on 8 May 2023", "in 2022", "last week", "yesterday", "3 days ago",
"last Saturday", "before June 2023", "after 2022", "in March" or "in March and April" (the
latest such months), "in the past three months", and named days ("on Valentine's Day",
"at Christmas", "on Easter Sunday": the latest one). Relative expressions are read against
``now`` (the moment the question is asked). Windows are deliberately generous: they become
a soft boost in retrieval, never a hard filter, because people say "in May" about things
they mention in June. Expressions anchored to events ("before the trip") need the event's
own time and are not resolved here.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil.easter import easter

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(\d{{4}})\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_MONTH_YEAR = re.compile(rf"\b{_MONTH},?\s+(\d{{4}})\b", re.I)
_YEAR = re.compile(r"\b(?:in|during|of|since|before|after|by)\s+((?:19|20)\d\d)\b", re.I)
_AGO = re.compile(
    r"\b(a|an|one|two|three|four|five|six|\d+)\s+(day|week|month|year)s?\s+ago\b", re.I
)
_MONTHS_ALONE = re.compile(
    rf"\b(?:in|during|of|since|before|after|by|from)\s+{_MONTH}(?:\s+(?:and|to|through|until|-)\s+{_MONTH})?\b",
    re.I,
)
_LAST_N_UNITS = re.compile(
    r"\b(?:last|past|previous)\s+(two|three|four|five|six|\d+)\s+(day|week|month|year)s\b", re.I
)
_LAST_UNIT = re.compile(r"\b(last|past|previous|this)\s+(week|month|year|weekend)\b", re.I)
_LAST_WEEKDAY = re.compile(
    r"\b(?:last|on|this past)\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I
)
_YESTERDAY = re.compile(r"\byesterday\b", re.I)
_TODAY = re.compile(r"\btoday\b", re.I)
_BEFORE = re.compile(r"\b(before|until|prior to)\b", re.I)
_AFTER = re.compile(r"\b(after|since)\b", re.I)
_NAMED_DAYS = re.compile(
    r"\b(valentine'?s(?: day)?|christmas(?: eve| day)?|new year'?s(?: eve| day)?|halloween|"
    r"thanksgiving|easter(?: sunday)?|good friday|st\.? patrick'?s day|independence day|"
    r"fourth of july|4th of july|mother'?s day|father'?s day|memorial day|labou?r day)\b",
    re.I,
)
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365, "weekend": 7}


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime
    expression: str

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def _month_number(name: str) -> int:
    return MONTHS[name.lower()[:3] if name.lower() not in MONTHS else name.lower()]


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
                moment = datetime(int(year), _month_number(month), int(day), tzinfo=now.tzinfo)
            except ValueError:
                continue
            return moment - timedelta(days=3), moment + timedelta(days=4), match.group(0)
    if match := _MONTH_YEAR.search(question):
        start, end = _month_window(
            int(match.group(2)), _month_number(match.group(1)), now, timedelta(days=7)
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
        first = _month_number(match.group(1))
        last = _month_number(match.group(2)) if match.group(2) else first
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


def _relative(question: str, now: datetime) -> tuple[datetime, datetime, str] | None:
    if match := _YESTERDAY.search(question):
        return now - timedelta(days=2), now, match.group(0)
    if match := _TODAY.search(question):
        return now - timedelta(days=1), now + timedelta(days=1), match.group(0)
    if match := _AGO.search(question):
        count = _NUMBERS.get(match.group(1).lower()) or int(match.group(1))
        days = count * _UNIT_DAYS[match.group(2).lower()]
        slack = max(2, days // 4)
        center = now - timedelta(days=days)
        return center - timedelta(days=slack), center + timedelta(days=slack), match.group(0)
    if match := _LAST_WEEKDAY.search(question):
        back = (now.weekday() - WEEKDAYS[match.group(1).lower()]) % 7 or 7
        day = (now - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=1), day + timedelta(days=2), match.group(0)
    if match := _LAST_N_UNITS.search(question):
        count = _NUMBERS.get(match.group(1).lower()) or int(match.group(1))
        days = count * _UNIT_DAYS[match.group(2).lower()]
        return now - timedelta(days=days + max(2, days // 10)), now, match.group(0)
    if match := _LAST_UNIT.search(question):
        days = _UNIT_DAYS[match.group(2).lower()]
        span = days if match.group(1).lower() == "this" else 2 * days
        return now - timedelta(days=span), now, match.group(0)
    return None


def parse_time_window(question: str, now: datetime) -> TimeWindow | None:
    """The window a question's time expression points at, or None when it has none."""
    found = _absolute(question, now) or _relative(question, now) or _calendar(question, now)
    if found is None:
        return None
    start, end, expression = found
    before = question[: question.lower().find(expression.lower())]
    if _BEFORE.search(before[-20:]):
        start, end = start - timedelta(days=365), start + (end - start) / 2
    elif _AFTER.search(before[-20:]):
        start, end = start + (end - start) / 2, end + timedelta(days=365)
    return TimeWindow(start, end, expression)

"""Resolve relative time phrases ("yesterday", "next Friday", "3 days ago") against the
time of the event that said them, so memories store absolute dates.

Date arithmetic is python-dateutil's ``relativedelta`` (weekday-aware); this module only
finds the phrases. A phrase it does not know is left as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from dateutil.relativedelta import FR, MO, SA, SU, TH, TU, WE, relativedelta

_WEEKDAYS = {
    "monday": MO,
    "tuesday": TU,
    "wednesday": WE,
    "thursday": TH,
    "friday": FR,
    "saturday": SA,
    "sunday": SU,
}
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_UNITS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}


def _shift(unit: str, amount: int) -> relativedelta:
    field = _UNITS[unit]
    return relativedelta(
        days=amount if field == "days" else 0,
        weeks=amount if field == "weeks" else 0,
        months=amount if field == "months" else 0,
        years=amount if field == "years" else 0,
    )


_DAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_COUNT = r"(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
_PHRASE = re.compile(
    r"\b(?:(?P<simple>day before yesterday|day after tomorrow|yesterday|today|tonight|tomorrow)"
    rf"|(?P<dir>last|next|this|coming) (?P<day>{_DAY}|week|month|year|weekend)"
    rf"|(?P<count>{_COUNT}) (?P<unit>day|week|month|year)s? (?P<rel>ago|from now|later)"
    rf"|in (?P<incount>{_COUNT}) (?P<inunit>day|week|month|year)s?"
    rf"|on (?P<onday>{_DAY}))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ResolvedTime:
    phrase: str
    day: date
    start: int
    end: int


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _resolve(match: re.Match[str], anchor: date) -> date:
    groups = {k: (v.lower() if v else v) for k, v in match.groupdict().items()}
    if simple := groups["simple"]:
        offset = {
            "day before yesterday": -2,
            "yesterday": -1,
            "today": 0,
            "tonight": 0,
            "tomorrow": 1,
            "day after tomorrow": 2,
        }[simple]
        return anchor + relativedelta(days=offset)
    if direction := groups["dir"]:
        what = groups["day"] or ""
        sign = -1 if direction == "last" else 1
        if what in _WEEKDAYS:
            weekday = _WEEKDAYS[what]
            if direction == "last":
                return anchor + relativedelta(days=-1, weekday=weekday(-1))
            if direction == "this":
                return anchor + relativedelta(weekday=weekday(+1))
            return anchor + relativedelta(days=+1, weekday=weekday(+1))
        if what == "weekend":
            saturday = anchor + relativedelta(weekday=SA(+1) if sign > 0 else SA(-1))
            if direction == "last" and saturday == anchor:
                saturday = anchor + relativedelta(days=-7)
            return saturday
        amount = 0 if direction == "this" else sign
        return anchor + _shift(what, amount)
    if groups["count"]:
        sign = -1 if groups["rel"] == "ago" else 1
        return anchor + _shift(groups["unit"], sign * _count(groups["count"]))
    if groups["incount"]:
        return anchor + _shift(groups["inunit"], _count(groups["incount"]))
    # "on Friday": the nearest such day, looking back (people mostly report the past)
    return anchor + relativedelta(weekday=_WEEKDAYS[groups["onday"]](-1))


def find_relative_times(text: str, anchor: datetime) -> list[ResolvedTime]:
    day = anchor.date()
    return [
        ResolvedTime(m.group(0), _resolve(m, day), m.start(), m.end())
        for m in _PHRASE.finditer(text)
    ]


def _spelled(item: ResolvedTime) -> str:
    phrase = item.phrase.lower()
    if phrase.endswith("month") or phrase.endswith("months ago") or "month" in phrase:
        return f"in {item.day:%Y-%m}"
    if "year" in phrase:
        return f"in {item.day:%Y}"
    if "week" in phrase and "weekend" not in phrase:
        return f"in the week of {item.day.isoformat()}"
    return f"on {item.day.isoformat()}"


def absolutize(text: str, anchor: datetime) -> tuple[str, date | None]:
    """``text`` with each relative phrase replaced by "on YYYY-MM-DD" (and the first
    such date), e.g. "went hiking yesterday" said on 2024-05-03 -> "went hiking on 2024-05-02"."""
    found = find_relative_times(text, anchor)
    if not found:
        return text, None
    pieces, last = [], 0
    for item in found:
        pieces += [text[last : item.start], _spelled(item)]
        last = item.end
    pieces.append(text[last:])
    return "".join(pieces), found[0].day


def parse_when(value: str, anchor: datetime) -> date | None:
    """The extractor's ``when`` field: an ISO date, or a relative phrase, or nothing."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        pass
    found = find_relative_times(value, anchor)
    return found[0].day if found else None

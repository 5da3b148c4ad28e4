"""Resolve relative time phrases ("yesterday", "next Friday", "3 days ago") against the
time of the event that said them, so memories store absolute dates.

The words and phrase shapes are :mod:`core.time_grammar.grammar`'s, the same the read path
uses; date arithmetic is python-dateutil's ``relativedelta`` (weekday-aware). A phrase
that names no single day (a span: "the past three months") is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dateutil.relativedelta import SA, relativedelta, weekday

from core.time_grammar.grammar import TimePhrase, find_phrases


def _shift(unit: str, amount: int) -> relativedelta:
    return relativedelta(
        days=amount if unit == "day" else 0,
        weeks=amount if unit == "week" else 0,
        months=amount if unit == "month" else 0,
        years=amount if unit == "year" else 0,
    )


@dataclass(frozen=True)
class ResolvedTime:
    phrase: str
    day: date
    start: int
    end: int


def _weekday(phrase: TimePhrase, anchor: date) -> date:
    day = weekday(phrase.weekday)
    if phrase.looks_back:
        return anchor + relativedelta(days=-1, weekday=day(-1))
    if phrase.relation == "this":
        return anchor + relativedelta(weekday=day(+1))
    if phrase.looks_ahead:
        return anchor + relativedelta(days=+1, weekday=day(+1))
    # "on Friday": the nearest such day, looking back (people mostly report the past)
    return anchor + relativedelta(weekday=day(-1))


def _resolve(phrase: TimePhrase, anchor: date) -> date | None:
    """The day ``phrase`` names, said on ``anchor``; None for a span ("the past week",
    "the last three days"), which has no single day, and for "the previous month", which
    in a story is mostly the month before the one being told about, not before today."""
    if phrase.kind == "near":
        return anchor + relativedelta(days=phrase.offset)
    if phrase.kind == "weekday":
        return _weekday(phrase, anchor)
    if phrase.kind == "counted":
        sign = -1 if phrase.relation == "ago" else 1
        return anchor + _shift(phrase.unit, sign * phrase.count)
    if phrase.kind == "unit" and phrase.relation not in ("past", "previous"):
        sign = -1 if phrase.looks_back else 1
        if phrase.unit == "weekend":
            saturday = anchor + relativedelta(weekday=SA(+1) if sign > 0 else SA(-1))
            if phrase.looks_back and saturday == anchor:
                saturday = anchor + relativedelta(days=-7)
            return saturday
        amount = 0 if phrase.relation == "this" else sign
        return anchor + _shift(phrase.unit, amount)
    return None


def find_relative_times(text: str, anchor: datetime) -> list[ResolvedTime]:
    """The phrases in ``text`` that name a day, each with that day (against ``anchor``)."""
    day = anchor.date()
    return [
        ResolvedTime(phrase.text, resolved, phrase.start, phrase.end)
        for phrase in find_phrases(text)
        if (resolved := _resolve(phrase, day)) is not None
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


def _meaning(phrase: TimePhrase, day: date) -> str:
    """What a resolved phrase means, as the answer prompt shows it after the phrase."""
    unit = phrase.unit if phrase.kind in ("unit", "counted") else "day"
    if unit == "week":
        return f"the week of {day - relativedelta(days=day.weekday()):%Y-%m-%d}"
    if unit == "weekend":
        return f"the weekend of {day:%Y-%m-%d}"
    if unit == "month":
        return f"{day:%B %Y}"
    if unit == "year":
        return f"{day:%Y}"
    return f"{day:%A %Y-%m-%d}"


def annotate(text: str, anchor: datetime) -> str:
    """``text`` with each relative phrase followed by the date it means in brackets,
    against ``anchor`` (when the text was said): "I started last week" said on Monday
    2023-03-27 -> "I started last week [the week of 2023-03-20]". The words stay as they
    were said; only the meaning is added, for a reader that has no calendar."""
    pieces, last = [], 0
    for phrase in find_phrases(text):
        day = _resolve(phrase, anchor.date())
        if day is None:
            continue
        pieces += [text[last : phrase.end], f" [{_meaning(phrase, day)}]"]
        last = phrase.end
    pieces.append(text[last:])
    return "".join(pieces)


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

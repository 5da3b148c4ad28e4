"""The one grammar of time words, shared by the write path and the read path.

The write path (:mod:`core.time_grammar.relative`) resolves a phrase in an event's text
("three days ago", "next Friday") to a date against the time the event happened; the read
path (:mod:`core.time_grammar.windows`) turns a phrase in a question into a time window
around the moment it is asked. They used to keep their own number words and patterns,
and drifted apart ("seven days ago" was resolved when written but gave no window when
asked). Here live the words (numbers, units, weekdays, months) and the shapes of the
relative phrases; :func:`find_phrases` reads them into :class:`TimePhrase` records, and
each side decides what a phrase means on its side (a date, or a window, or nothing: a
span such as "the past three months" has no single date).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

NUMBER_WORDS: dict[str, int] = {
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
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
UNITS = ("day", "week", "month", "year")
WEEKDAYS: dict[str, int] = {name.lower(): i for i, name in enumerate(calendar.day_name)}
MONTHS: dict[str, int] = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
# days from today of the words that name a day on their own
NEAR_DAYS: dict[str, int] = {
    "day before yesterday": -2,
    "yesterday": -1,
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "day after tomorrow": 2,
}
# the words before a weekday or a unit that look back ("last Friday") or ahead
LOOKING_BACK = frozenset({"last", "previous", "this past"})
LOOKING_AHEAD = frozenset({"next", "coming"})


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of ``words``, longest first, so "seventeen" is not read as
    "seven" and "day before yesterday" not as "yesterday"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


COUNT = rf"(?:\d+|{_alternation(NUMBER_WORDS)})"
UNIT = rf"(?:{_alternation(UNITS)})"
WEEKDAY = rf"(?:{_alternation(WEEKDAYS)})"
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

# One alternation for every relative phrase: at a position the first alternative that
# matches wins (near days first: "the day before yesterday" is one phrase), and matches
# do not overlap.
_PHRASE = re.compile(
    rf"\b(?:(?P<near>{_alternation(NEAR_DAYS)})"
    rf"|(?P<wd_rel>this past|last|next|coming|this|on)\s+(?P<weekday>{WEEKDAY})"
    rf"|(?P<unit_rel>last|past|previous|next|coming|this)\s+(?P<ref_unit>week|month|year|weekend)"
    rf"|(?P<count>{COUNT})\s+(?P<unit>{UNIT})s?\s+(?P<rel>ago|from\s+now|later)"
    # "in a month" but not the "in" of "took part in a month ago"
    rf"|in\s+(?P<in_count>{COUNT})\s+(?P<in_unit>{UNIT})s?(?!\s+ago\b)"
    rf"|(?P<span_rel>last|past|previous)\s+(?P<span_count>{COUNT})\s+(?P<span_unit>{UNIT})s)\b",
    re.IGNORECASE,
)

PhraseKind = Literal["near", "weekday", "unit", "counted", "span"]


@dataclass(frozen=True)
class TimePhrase:
    """One relative time phrase as written, read into its parts.

    ``kind`` says which parts are set:

    - ``near``: "yesterday", "tonight", "day after tomorrow": ``offset`` days from today;
    - ``weekday``: "last Friday", "this past Sunday", "on Monday", "next Tuesday":
      ``relation`` (the word before it) and ``weekday`` (0 is Monday);
    - ``unit``: "last week", "past month", "next weekend": ``relation`` and ``unit``
      (``day``/``week``/``month``/``year``/``weekend``);
    - ``counted``: "3 days ago", "two weeks from now", "a month later", "in ten days":
      ``count``, ``unit`` and ``relation`` (``ago``, ``from now``, ``later`` or ``in``);
    - ``span``: "the past three months": ``relation``, ``count`` and ``unit``.
    """

    text: str
    start: int
    end: int
    kind: PhraseKind
    relation: str = ""  # lower case
    offset: int = 0
    count: int = 0
    unit: str = ""
    weekday: int = -1

    @property
    def looks_back(self) -> bool:
        return self.relation in LOOKING_BACK

    @property
    def looks_ahead(self) -> bool:
        return self.relation in LOOKING_AHEAD


def count_value(word: str) -> int:
    """ "7" or "seven" as 7."""
    return int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]


def month_number(name: str) -> int:
    """ "March", "mar" or "Sept" as 3 or 9."""
    key = name.lower()
    return MONTHS[key if key in MONTHS else key[:3]]


def _phrase(match: re.Match[str]) -> TimePhrase:
    found = {k: v.lower() for k, v in match.groupdict().items() if v}
    where = (match.group(0), match.start(), match.end())
    if near := found.get("near"):
        return TimePhrase(*where, "near", offset=NEAR_DAYS[near])
    if "weekday" in found:
        return TimePhrase(
            *where, "weekday", relation=found["wd_rel"], weekday=WEEKDAYS[found["weekday"]]
        )
    if "ref_unit" in found:
        return TimePhrase(*where, "unit", relation=found["unit_rel"], unit=found["ref_unit"])
    if "count" in found:
        return TimePhrase(
            *where,
            "counted",
            relation=" ".join(found["rel"].split()),
            count=count_value(found["count"]),
            unit=found["unit"],
        )
    if "in_count" in found:
        return TimePhrase(
            *where,
            "counted",
            relation="in",
            count=count_value(found["in_count"]),
            unit=found["in_unit"],
        )
    return TimePhrase(
        *where,
        "span",
        relation=found["span_rel"],
        count=count_value(found["span_count"]),
        unit=found["span_unit"],
    )


def find_phrases(text: str) -> list[TimePhrase]:
    """Every relative time phrase in ``text``, in order, none overlapping."""
    return [_phrase(m) for m in _PHRASE.finditer(text)]

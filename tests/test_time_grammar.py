"""One time grammar for both paths: whatever phrase the write path resolves in an event's
text (against the event's time), the read path turns into a window that holds that day
when a question says it at the same moment; number words go to twenty on both sides."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from core.time_grammar.grammar import find_phrases
from core.time_grammar.relative import absolutize, find_relative_times, parse_when
from core.time_grammar.windows import parse_time_window

FRIDAY_EVENING = datetime(2024, 5, 3, 18, 0, tzinfo=UTC)  # a Friday
NOW_MAY = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)

# phrases each side knew before the grammar was shared, and phrases only one side knew
BOTH_PATHS = [
    "yesterday",
    "today",
    "three days ago",
    "a week ago",
    "2 months ago",
    "last week",
    "last month",
    "last year",
    "last weekend",
    "last Tuesday",
    "this week",
    # only the write path knew these
    "seven days ago",
    "ten weeks ago",
    "eight months ago",
    "nine years ago",
    "tonight",
    "tomorrow",
    "the day before yesterday",
    "the day after tomorrow",
    "next Friday",
    "next Tuesday",
    "this Sunday",
    "coming Monday",
    "next week",
    "next month",
    "next year",
    "next weekend",
    "two weeks from now",
    "seven days from now",
    # number words past ten: neither side knew them
    "twelve days ago",
    "twenty weeks ago",
    "fifteen days from now",
    # only the read path knew this one
    "this past Wednesday",
]


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


@pytest.mark.parametrize("phrase", BOTH_PATHS)
def test_a_phrase_resolved_when_written_gives_a_window_holding_that_day(phrase: str) -> None:
    _, day = absolutize(f"I said it {phrase}.", FRIDAY_EVENING)
    assert day is not None, f"the write path does not resolve {phrase!r}"
    window = parse_time_window(f"What did I say {phrase}?", FRIDAY_EVENING)
    assert window is not None, f"the read path gives no window for {phrase!r}"
    assert window.expression.lower() in phrase.lower()
    assert window.contains(_noon(day)), (phrase, day, window)


def test_seven_days_ago_resolves_on_both_paths() -> None:
    text, day = absolutize("We moved house seven days ago.", FRIDAY_EVENING)
    assert (text, day) == ("We moved house on 2024-04-26.", date(2024, 4, 26))
    window = parse_time_window("Where did I move seven days ago?", FRIDAY_EVENING)
    assert window is not None and window.expression == "seven days ago"
    assert window.contains(FRIDAY_EVENING - timedelta(days=7))
    assert not window.contains(FRIDAY_EVENING - timedelta(days=30))
    # the same width rule as "three days ago": a quarter of the distance, at least 2 days
    three = parse_time_window("Where was I three days ago?", FRIDAY_EVENING)
    assert three is not None and three.end - three.start == timedelta(days=4)
    assert window.end - window.start == timedelta(days=4)


def test_spans_past_six_give_windows_and_no_single_date() -> None:
    window = parse_time_window("What did I read in the past ten days?", FRIDAY_EVENING)
    assert window is not None and window.expression == "past ten days"
    assert window.contains(FRIDAY_EVENING - timedelta(days=9))
    assert not window.contains(FRIDAY_EVENING - timedelta(days=30))
    assert absolutize("I read a lot in the past ten days", FRIDAY_EVENING) == (
        "I read a lot in the past ten days",
        None,
    )


def test_number_words_are_whole_words() -> None:
    (phrase,) = find_phrases("seventeen days ago")
    assert (phrase.kind, phrase.count, phrase.unit, phrase.relation) == (
        "counted",
        17,
        "day",
        "ago",
    )
    assert parse_when("eleven days ago", FRIDAY_EVENING) == date(2024, 4, 22)


def test_in_before_a_time_ago_is_not_a_time_ahead() -> None:
    """ "took part in a month ago" is a month back, on both paths."""
    _, day = absolutize("I took part in a month ago", FRIDAY_EVENING)
    assert day == date(2024, 4, 3)
    window = parse_time_window("What did I take part in a month ago?", FRIDAY_EVENING)
    assert window is not None and window.contains(_noon(date(2024, 4, 3)))


def test_a_phrase_that_looks_ahead_yields_to_any_other_time_in_the_question() -> None:
    """ "a film for tonight" is the occasion; the month or day named is the memory's."""
    window = parse_time_window("Which film did I like in March, to watch tonight?", NOW_MAY)
    assert window is not None and window.expression == "in March"
    window = parse_time_window("What did I cook last week? Plan tomorrow's dinner.", NOW_MAY)
    assert window is not None and window.expression == "last week"


def test_the_day_before_yesterday_is_not_before_yesterday() -> None:
    window = parse_time_window("What did I do the day before yesterday?", FRIDAY_EVENING)
    assert window is not None and window.expression == "day before yesterday"
    assert window.contains(FRIDAY_EVENING - timedelta(days=2))
    assert not window.contains(FRIDAY_EVENING - timedelta(days=30))


def test_durations_and_later_give_no_window_but_are_resolved_when_written() -> None:
    assert parse_time_window("What did I learn in two weeks?", FRIDAY_EVENING) is None
    assert parse_time_window("What did I do a week later?", FRIDAY_EVENING) is None
    found = find_relative_times("Dentist in two weeks, then a week later", FRIDAY_EVENING)
    assert [f.day for f in found] == [date(2024, 5, 17), date(2024, 5, 10)]

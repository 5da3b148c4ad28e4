"""Date arithmetic computed in code from the memories' dates: which questions it takes
(by their form), the sides it retrieves, and the exact figures. Pure logic: ``search`` is
a small dictionary from a side's query to its memories (the Service-level test runs the
real retrieval)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from core.answering.arithmetic import compute, memory_day
from core.records import Memory, SearchHit
from tests.records import memory_at

NOW = datetime(2023, 6, 1, 12, 0, tzinfo=UTC)


def _memory(ident: str, text: str, when: datetime) -> Memory:
    return memory_at(ident, text, when)


AQUARIUM = _memory(
    "m-aq", "Kim: I visited the aquarium today.", datetime(2023, 4, 3, 15, tzinfo=UTC)
)
POTTERY = _memory(
    "m-po", "Kim: I went to a pottery class yesterday.", datetime(2023, 4, 18, 15, tzinfo=UTC)
)
PUPPY = _memory(
    "m-pu", "Kim: I adopted my puppy three years ago.", datetime(2023, 5, 8, 15, tzinfo=UTC)
)


KEYWORDS = {"aquarium": AQUARIUM, "pottery": POTTERY, "puppy": PUPPY}


def _search(queries: list[str]) -> Callable[[str], Sequence[SearchHit]]:
    def search(query: str) -> Sequence[SearchHit]:
        queries.append(query)
        return [SearchHit(m, 1.0, 1, 1) for k, m in KEYWORDS.items() if k in query.lower()]

    return search


def test_memory_day_prefers_the_relative_time_in_its_text() -> None:
    assert memory_day(POTTERY).isoformat() == "2023-04-17"
    assert memory_day(PUPPY).isoformat() == "2020-05-08"
    assert memory_day(AQUARIUM).isoformat() == "2023-04-03"


def test_days_between_two_things_are_counted_exactly() -> None:
    asked: list[str] = []
    result = compute(
        "How many days passed between my visit to the aquarium and the pottery class?",
        _search(asked),
        NOW,
    )
    assert result is not None
    assert result.text == "14 days (2023-04-03 to 2023-04-17)"
    assert [m.id for m in result.memories] == ["m-aq", "m-po"]
    assert len(asked) == 2 and "aquarium" in asked[0] and "pottery" in asked[1]


def test_how_long_between_picks_a_readable_unit() -> None:
    result = compute(
        "How long was it between adopting the puppy and the pottery class?",
        _search([]),
        NOW,
    )
    assert result is not None and result.text == "three years (2020-05-08 to 2023-04-17)"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "Which came first, the pottery class or the aquarium visit?",
            "the aquarium visit (2023-04-03)",
        ),
        (
            "Which did Kim do last, the pottery class or the aquarium visit?",
            "the pottery class (2023-04-17)",
        ),
    ],
)
def test_which_came_first_is_read_from_the_dates(question: str, expected: str) -> None:
    result = compute(question, _search([]), NOW)
    assert result is not None and result.text == expected


def test_how_long_ago_counts_to_now() -> None:
    result = compute("How many weeks ago did Kim go to the pottery class?", _search([]), NOW)
    assert result is not None and result.text == "six weeks ago (2023-04-17)"


@pytest.mark.parametrize(
    "question",
    [
        "When did Kim visit the aquarium?",
        "What did Kim make between lunch and dinner?",  # a comparison, but no arithmetic asked
        "How many days did the pottery course last?",  # a duration, not two dated things
    ],
)
def test_other_questions_go_to_the_reader(question: str) -> None:
    assert compute(question, _search([]), NOW) is None


BEACH_1 = _memory("m-b1", "Kim: We went to the beach today!", datetime(2023, 3, 4, 15, tzinfo=UTC))
BEACH_1B = _memory("m-b2", "Kim: The beach was windy.", datetime(2023, 3, 4, 16, tzinfo=UTC))
BEACH_2 = _memory(
    "m-b3", "Kim: Back at the beach last weekend.", datetime(2023, 5, 2, 15, tzinfo=UTC)
)
BEACH_OLD = _memory(
    "m-b4", "Kim: I loved the beach as a kid.", datetime(2022, 7, 1, 15, tzinfo=UTC)
)
OTHER = _memory("m-o", "Lee: The beach is far from me.", datetime(2023, 4, 1, 15, tzinfo=UTC))


def test_how_many_times_counts_distinct_days_within_the_window() -> None:
    hits = [SearchHit(m, 1.0, 1, 1) for m in (BEACH_1, BEACH_1B, BEACH_2, BEACH_OLD, OTHER)]
    result = compute("How many times has Kim gone to the beach in 2023?", lambda _q: hits, NOW)
    assert result is not None
    assert result.text == "two times (2023-03-04, 2023-04-29)"  # "last weekend": its Saturday
    assert [m.id for m in result.memories] == ["m-b1", "m-b3"]
    assert compute("How many times did Kim go skiing?", lambda _q: hits, NOW) is None

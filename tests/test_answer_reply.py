"""The reader's structured reply read into an answer: citations kept apart, a bare
citation, an empty answer, a refusal or a cut-off reply never coming out as an answer,
and the answer field streamed as it is generated. Pure logic: no model."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.answering.answer import memory_line
from core.answering.reply import (
    NOT_MENTIONED,
    AnswerStream,
    read_reply,
    reply_schema,
)
from core.records import Memory, MemoryId
from core.time_grammar.relative import annotate
from tests.records import memory_at

ALIASES = [MemoryId("m-a"), MemoryId("m-b"), MemoryId("m-c")]


def _json(supported: bool, answer: str, cited: list[int]) -> str:
    return json.dumps({"supported": supported, "answer": answer, "cited": cited})


def test_supported_answer_keeps_text_and_maps_citations() -> None:
    reply = read_reply(_json(True, "In 2020, when she moved.", [2, 1, 2]), ALIASES)
    assert reply.supported
    assert reply.text == "In 2020, when she moved."
    assert reply.cited == (MemoryId("m-b"), MemoryId("m-a"))


def test_citations_in_the_text_move_to_the_citations() -> None:
    reply = read_reply(_json(True, "The Marina garage [3].", []), ALIASES)
    assert reply.text == "The Marina garage." and reply.cited == (MemoryId("m-c"),)


def test_bare_citation_or_empty_answer_is_not_supported() -> None:
    for answer in ("[1]", "", "  ", "[1][2].", "."):
        reply = read_reply(_json(True, answer, [1]), ALIASES)
        assert (reply.text, reply.cited, reply.supported) == (NOT_MENTIONED, (), False)


def test_not_supported_cites_nothing_whatever_the_model_wrote() -> None:
    reply = read_reply(_json(False, "Maybe Paris.", [1, 2]), ALIASES)
    assert (reply.text, reply.cited, reply.supported) == (NOT_MENTIONED, (), False)


def test_refusal_worded_as_an_answer_is_not_supported() -> None:
    for answer in ("I don't know.", "No information about that.", "Not mentioned."):
        assert not read_reply(_json(True, answer, [1]), ALIASES).supported


def test_out_of_range_numbers_are_dropped() -> None:
    assert read_reply(_json(True, "Blue.", [0, 7, 3]), ALIASES).cited == (MemoryId("m-c"),)


def test_reply_cut_short_keeps_its_answer_and_a_stopped_one_is_not_supported() -> None:
    cut = '{"supported": true, "answer": "On 2023-05-02 \\"early\\"", "cited": [1'
    reply = read_reply(cut, ALIASES)
    assert reply.supported and reply.text == 'On 2023-05-02 "early"'
    assert reply.cited == (MemoryId("m-a"),)
    assert not read_reply('{"supported": false', ALIASES).supported
    assert not read_reply('{"supported": true, "ans', ALIASES).supported


def test_free_text_reply_is_read_the_old_way() -> None:
    reply = read_reply("You parked on level 3 [1][2].", ALIASES)
    assert reply.supported and reply.text == "You parked on level 3."
    assert reply.cited == (MemoryId("m-a"), MemoryId("m-b"))


def test_long_answer_is_cut_after_its_first_sentence() -> None:
    long = "It was Tuesday. " + "Then many more things happened that day. " * 6
    assert read_reply(_json(True, long, [1]), ALIASES).text == "It was Tuesday."


def test_schema_orders_support_first_and_limits_citations_to_the_shown_numbers() -> None:
    schema = reply_schema(3)
    assert list(schema["properties"]) == ["supported", "answer", "cited"]
    assert schema["properties"]["cited"]["items"]["enum"] == [1, 2, 3]


def _stream(pieces: list[str]) -> tuple[str, bool, AnswerStream]:
    reading = AnswerStream()
    shown, stopped = "", False
    for piece in pieces:
        text, stop = reading.feed(piece)
        shown += text
        if stop:
            stopped = True
            break
    return shown, stopped, reading


def test_stream_shows_only_the_answer_text_as_it_comes() -> None:
    raw = _json(True, 'Rosa said "hi" [2] at noon', [2])
    pieces = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    shown, stopped, reading = _stream(pieces)
    assert shown == 'Rosa said "hi"  at noon' and not stopped
    assert reading.raw == raw


def test_stream_stops_when_the_memories_do_not_hold_the_answer() -> None:
    shown, stopped, _ = _stream(['{"supp', 'orted": fal', 'se, "answer": "x"'])
    assert shown == "" and stopped


def test_stream_passes_free_text_on_without_citations() -> None:
    shown, stopped, _ = _stream(["Level ", "3 [", "1]", " of the garage"])
    assert shown == "Level 3  of the garage" and not stopped


# -- the memories as the reader sees them: relative times resolved against their date --
def _memory(text: str, when: datetime) -> Memory:
    return memory_at("m1", text, when)


MONDAY = datetime(2023, 3, 27, 15, 0, tzinfo=UTC)


def test_memory_line_carries_its_date_and_resolves_last_week() -> None:
    line = memory_line(4, _memory("Andy: I started the new job last week!", MONDAY), {})
    when = MONDAY.astimezone()
    assert line.startswith(f"[4] ({when:%a %Y-%m-%d}) Andy: ")
    assert line.endswith("I started the new job last week [the week of 2023-03-20]!")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We met yesterday.", "We met yesterday [Sunday 2023-03-26]."),
        ("See you next Friday", "See you next Friday [Friday 2023-03-31]"),
        ("It broke two days ago", "It broke two days ago [Saturday 2023-03-25]"),
        ("Moved last month", "Moved last month [February 2023]"),
        ("Married three years ago", "Married three years ago [2020]"),
        ("Hiked last weekend", "Hiked last weekend [the weekend of 2023-03-25]"),
        ("Read a lot in the past ten days", "Read a lot in the past ten days"),  # a span
        ("Nothing relative here.", "Nothing relative here."),
    ],
)
def test_annotate_adds_the_meaning_after_each_phrase(text: str, expected: str) -> None:
    assert annotate(text, MONDAY) == expected

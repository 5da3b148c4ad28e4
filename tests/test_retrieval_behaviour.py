"""Retrieval behaviour with the real embedder, Chroma and FTS5: time expressions,
speaker awareness, neighbour expansion within a session, and the cheap first step."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.records import EventKind, NewEvent
from core.retrieval.query_plan import analyse, comparison_sides
from core.retrieval.search import RetrievalSettings, search
from core.time_grammar.windows import parse_time_window

NOW = datetime(2023, 9, 1, 12, 0, tzinfo=UTC)
FILLER = [
    "The weather was lovely and we had a long walk by the river.",
    "My sister is visiting next month, I am excited.",
    "I have been reading a novel about sailors.",
    "Work has been busy with the quarterly report.",
    "We tried a new recipe for dinner, a spicy curry.",
    "The kids started a new school year.",
]


def _turns(service, turns: list[tuple[str, str, datetime, str]], extract: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Record the turns; with ``extract`` also run the LLM's typed extraction (slow)."""
    service.add_events(
        [
            NewEvent(EventKind.CHAT, text, at, speaker, source="test", payload={"session": session})
            for speaker, text, at, session in turns
        ]
    )
    if extract:
        service.ingest()
    else:
        service.record_events()


def _texts(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.memory.text for h in hits]


def test_time_expressions_become_windows() -> None:
    may = parse_time_window("What did Caroline do in May 2023?", NOW)
    assert may is not None and may.contains(datetime(2023, 5, 15, tzinfo=UTC))
    assert not may.contains(datetime(2023, 8, 15, tzinfo=UTC))
    week = parse_time_window("What did I buy last week?", NOW)
    assert week is not None and week.contains(NOW - timedelta(days=6))
    assert not week.contains(NOW - timedelta(days=60))
    ago = parse_time_window("Where was I three days ago?", NOW)
    assert ago is not None and ago.contains(NOW - timedelta(days=3))
    before = parse_time_window("What happened before June 2023?", NOW)
    assert before is not None and before.contains(datetime(2023, 3, 1, tzinfo=UTC))
    assert not before.contains(datetime(2023, 7, 1, tzinfo=UTC))
    assert parse_time_window("What is my favourite colour?", NOW) is None


def test_first_step_derives_keywords_speakers_and_person() -> None:
    plan = analyse("What did Melanie paint in May 2023?", ["Caroline", "Melanie"], NOW)
    assert plan.speakers == {"Melanie"}
    assert plan.keywords == ("paint",)
    assert plan.window is not None
    mine = analyse("What did I say about my car?", ["user", "assistant"], NOW)
    assert mine.speakers == {"user"} and "car" in mine.keywords
    yours = analyse("Which hotel did you recommend to me?", ["user", "assistant"], NOW)
    assert "assistant" in yours.speakers


def test_a_named_month_lifts_the_turn_from_that_month(service) -> None:  # type: ignore[no-untyped-def]
    may, august = datetime(2023, 5, 10, tzinfo=UTC), datetime(2023, 8, 10, tzinfo=UTC)
    _turns(
        service,
        [
            ("Caroline", "I went hiking up the mountain trail with friends.", may, "s1"),
            ("Caroline", "I went hiking up the mountain trail with my friends.", august, "s2"),
            *[
                ("Melanie", text, august + timedelta(minutes=i + 1), "s2")
                for i, text in enumerate(FILLER)
            ],
        ],
    )
    in_may = service.search("Where did Caroline go hiking in May 2023?", now=NOW)
    in_august = service.search("Where did Caroline go hiking in August 2023?", now=NOW)
    assert in_may[0].memory.event_time == may
    assert in_august[0].memory.event_time == august


def test_the_speaker_the_question_names_comes_first(service) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2023, 6, 1, tzinfo=UTC)
    _turns(
        service,
        [
            ("Caroline", "I really love my pottery class on Tuesdays.", at, "s1"),
            (
                "Melanie",
                "I really love my pottery class on Tuesdays.",
                at + timedelta(minutes=1),
                "s1",
            ),
            *[
                ("Melanie", text, at + timedelta(minutes=i + 2), "s1")
                for i, text in enumerate(FILLER)
            ],
        ],
    )
    assert (
        service.search("What class does Melanie love?", now=NOW)[0].memory.fields["actor"]
        == "Melanie"
    )
    assert (
        service.search("What class does Caroline love?", now=NOW)[0].memory.fields["actor"]
        == "Caroline"
    )


def test_neighbour_expansion_brings_the_reply_and_stays_in_its_session(service) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2023, 6, 1, tzinfo=UTC)
    _turns(
        service,
        [
            *[("Melanie", text, at + timedelta(minutes=i), "s1") for i, text in enumerate(FILLER)],
            (
                "Melanie",
                "What did you name the new puppy you adopted?",
                at + timedelta(hours=1),
                "s1",
            ),
            (
                "Caroline",
                "We called him Oscar, he is a golden retriever!",
                at + timedelta(hours=1, minutes=1),
                "s1",
            ),
            ("Melanie", "Guess what, I signed up for a marathon.", at + timedelta(days=3), "s2"),
        ],
    )
    cfg = RetrievalSettings(top_k=5)
    args = (service.store, service.runtime.index, service.runtime.embedder)
    with_expansion = search("What is the name of the puppy Caroline adopted?", *args, cfg, now=NOW)
    without = search(
        "What is the name of the puppy Caroline adopted?",
        *args,
        replace(cfg, neighbour_share=0.0, reply_share=0.0),
        now=NOW,
    )
    reply = "Caroline: We called him Oscar, he is a golden retriever!"
    assert reply in _texts(with_expansion)[:2]
    score = {h.memory.text: h.score for h in with_expansion}
    score_without = {h.memory.text: h.score for h in without}
    assert score[reply] > score_without.get(reply, 0.0)
    # the next session's first turn is adjacent by event id but not a neighbour
    marathon = "Melanie: Guess what, I signed up for a marathon."
    assert score.get(marathon, 0.0) == score_without.get(marathon, 0.0)


def test_nothing_relevant_returns_no_hits(service) -> None:  # type: ignore[no-untyped-def]
    _turns(service, [("Melanie", text, NOW - timedelta(days=1), "s1") for text in FILLER[:2]])
    assert service.search("xylophone quantum zeppelin", now=NOW) == []


def test_months_named_days_and_spans_become_windows() -> None:
    march = datetime(2023, 3, 2, 8, 0, tzinfo=UTC)
    valentine = parse_time_window("Which airline did I fly with on Valentine's day?", march)
    assert valentine is not None and valentine.contains(datetime(2023, 2, 14, 20, tzinfo=UTC))
    assert not valentine.contains(datetime(2023, 2, 20, tzinfo=UTC))
    thanksgiving = parse_time_window("What did I cook at Thanksgiving?", march)  # 4th Thursday
    assert thanksgiving is not None and thanksgiving.contains(
        datetime(2022, 11, 24, 12, tzinfo=UTC)
    )
    easter = parse_time_window("Where was I on Easter Sunday?", NOW)
    assert easter is not None and easter.contains(datetime(2023, 4, 9, 12, tzinfo=UTC))
    # a month without a year is the latest one that has begun
    december = parse_time_window("What did I buy in December?", march)
    assert december is not None and december.contains(datetime(2022, 12, 15, tzinfo=UTC))
    spring = parse_time_window("Which airline did I fly with most in March and April?", NOW)
    assert spring is not None and spring.contains(datetime(2023, 3, 3, tzinfo=UTC))
    assert spring.contains(datetime(2023, 4, 28, tzinfo=UTC))
    assert not spring.contains(datetime(2023, 6, 15, tzinfo=UTC))
    months = parse_time_window("What trips did I take in the past three months?", NOW)
    assert months is not None and months.contains(NOW - timedelta(days=80))
    assert not months.contains(NOW - timedelta(days=120))


def test_a_comparison_splits_into_its_sides() -> None:
    assert comparison_sides(
        "How many days passed between my visit to MoMA and the exhibit at the Met?"
    ) == ("How many days passed my visit to MoMA", "How many days passed the exhibit at the Met")
    assert comparison_sides("Which seeds did I start first, the tomatoes or the marigolds?") == (
        "Which seeds did I start first the tomatoes",
        "Which seeds did I start first the marigolds",
    )
    # a plain "and" cannot be cut by rule: "Mel and her kids" would lose its verb
    assert comparison_sides("What did Mel and her kids make at the pottery workshop?") == ()
    # only the question's own sentence is split, not a preamble before it
    assert comparison_sides("I read it and liked it. Which book was it?") == ()
    assert comparison_sides("What is my favourite colour?") == ()


def test_a_question_about_myself_prefers_my_turns_to_the_assistants(service) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2023, 6, 1, tzinfo=UTC)
    _turns(
        service,
        [
            (
                "user",
                "Can you suggest a good stretching routine? I have been running a lot.",
                at,
                "s1",
            ),
            (
                "assistant",
                "Here is a stretching routine for runners: hamstring stretches, calf stretches, "
                "hip flexor stretches and quad stretches after every run. Stretching after running "
                "helps runners recover.",
                at + timedelta(seconds=30),
                "s1",
            ),
            (
                "user",
                "I ran my first half marathon last Sunday, in 1 hour 52 minutes.",
                at + timedelta(minutes=1),
                "s1",
            ),
            *[("user", text, at + timedelta(minutes=i + 2), "s1") for i, text in enumerate(FILLER)],
        ],
        extract=False,
    )
    cfg = RetrievalSettings(top_k=5)
    args = (service.store, service.runtime.index, service.runtime.embedder)
    question = "How long did it take me to run my half marathon?"
    hits = search(question, *args, cfg, now=NOW)
    assert hits[0].memory.fields.get("actor") == "user" and "half marathon" in hits[0].memory.text
    # the assistant's answer to my question gains nothing from my turn being a hit: its
    # score is what it would be without neighbour expansion
    without = search(question, *args, replace(cfg, neighbour_share=0.0, reply_share=0.0), now=NOW)
    reply = next(h.memory.text for h in without if h.memory.fields.get("actor") == "assistant")
    assert {h.memory.text: h.score for h in hits}.get(reply) == {
        h.memory.text: h.score for h in without
    }[reply]


def test_each_side_of_a_comparison_is_searched_on_its_own(service) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2023, 3, 1, tzinfo=UTC)
    _turns(
        service,
        [
            ("user", "I started the tomato seeds indoors today, in small peat pots.", at, "s1"),
            (
                "user",
                "The tomato seedlings need more light, the tomato stems look leggy.",
                at + timedelta(days=3),
                "s2",
            ),
            (
                "user",
                "Which tomato varieties grow best in containers? I love tomato salads.",
                at + timedelta(days=5),
                "s3",
            ),
            (
                "user",
                "I finally sowed the marigolds in the garden bed by the fence.",
                at + timedelta(days=9),
                "s4",
            ),
            *[
                ("user", text, at + timedelta(days=10, minutes=i), "s5")
                for i, text in enumerate(FILLER)
            ],
        ],
        extract=False,
    )
    cfg = RetrievalSettings(top_k=4)
    args = (service.store, service.runtime.index, service.runtime.embedder)
    question = "Which seeds did I start first, the tomatoes or the marigolds?"
    marigolds = "user: I finally sowed the marigolds in the garden bed by the fence."
    with_sides = {h.memory.text: h.score for h in search(question, *args, cfg, now=NOW)}
    whole_only = {
        h.memory.text: h.score
        for h in search(question, *args, replace(cfg, part_weight=0.0), now=NOW)
    }
    assert "user: I started the tomato seeds indoors today, in small peat pots." in with_sides
    assert marigolds in with_sides
    assert with_sides[marigolds] > whole_only.get(marigolds, 0.0)

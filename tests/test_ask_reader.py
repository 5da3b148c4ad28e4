"""The reader through the Service on the real tiny model (SmolLM2) over a real store: a
year question, a relative "last week" question, a count between two dates and a question
the memories do not answer. The structure is checked exactly (the answer text alone,
citations apart and among the memories shown, "not mentioned" citing nothing), and the
code-computed arithmetic exactly; the tiny model's own words only loosely. The same
questions on the default model are the slow test at the end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.answering.answer import Answer, memory_line
from core.answering.reply import NOT_MENTIONED
from core.service import Service

TURNS = [
    ("Audrey", "I adopted my first three dogs in 2020, they changed my life.", "2023-05-08T13:56"),
    (
        "Andrew",
        "Big news: I started my new job as a financial analyst last week!",
        "2023-03-27T10:00",
    ),
    ("Kim", "I visited the city aquarium today, the jellyfish were amazing.", "2023-04-03T15:00"),
    ("Kim", "I went to my first pottery class yesterday and made a bowl.", "2023-04-18T15:00"),
]
QUESTIONS = {
    "year": "Which year did Audrey adopt her first three dogs?",
    "last_week": "When did Andrew start his job as a financial analyst?",
    "between": "How many days passed between Kim's aquarium visit and her pottery class?",
    "unanswered": "What is the name of Andrew's sailing boat?",
}


def _import(service: Service, folder: Path) -> None:
    chat = folder / "chat.jsonl"
    chat.write_text(
        "".join(
            json.dumps({"speaker": s, "text": t, "time": f"{at}+00:00"}) + "\n"
            for s, t, at in TURNS
        ),
        encoding="utf-8",
    )
    service.import_chat(chat)


def _check_structure(result: Answer, shown: list[str]) -> None:
    assert result.text.strip() and shown and "".join(shown).strip()
    assert not re.search(r"\[\d+\]", result.text)  # citations are kept apart
    assert set(result.cited) <= set(result.context) or not result.used_llm
    if result.supported:
        assert result.text != NOT_MENTIONED
        assert {m.id for m in result.memories} == set(result.sources)
    else:
        assert result.text == NOT_MENTIONED and result.cited == () and result.sources == ()


def _ask_all(service: Service) -> dict[str, tuple[Answer, list[str]]]:
    results = {}
    for kind, question in QUESTIONS.items():
        shown: list[str] = []
        results[kind] = (service.ask(question, shown.append), shown)
    return results


@pytest.mark.llm
def test_reader_answers_each_kind_of_question(service: Service, tmp_path: Path) -> None:
    _import(service, tmp_path)
    results = _ask_all(service)
    for result, shown in results.values():
        _check_structure(result, shown)
    # the count between two dates is computed in code from the memories' own dates
    between, shown = results["between"]
    assert between.text == "14 days (2023-04-03 to 2023-04-17)" and "".join(shown) == between.text
    assert not between.used_llm and between.supported
    assert {m.text.split(":")[0] for m in between.memories} == {"Kim"}
    assert len(between.cited) == 2
    # "last week" reached the model already resolved against the memory's own date
    last_week, _ = results["last_week"]
    andrew = [m for m in _context(service, last_week) if "financial analyst" in m.text]
    assert andrew and "last week [the week of 2023-03-20]" in memory_line(1, andrew[0], {})


def _context(service: Service, result: Answer) -> list:  # type: ignore[type-arg]
    return service.memories(list(result.context))


@pytest.mark.slow
def test_default_model_answers_short_correct_and_cited(
    data_dir: Path, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    (data_dir / "settings.toml").write_text("[llm]\nn_ctx = 4096\n", encoding="utf-8")
    with Service(data_dir, embedder=embedder) as service:
        _import(service, tmp_path)
        results = _ask_all(service)
    for result, shown in results.values():
        _check_structure(result, shown)
    year, _ = results["year"]
    assert year.supported and "2020" in year.text and year.cited
    last_week, _ = results["last_week"]
    assert last_week.supported and "2023-03-2" in last_week.text and last_week.cited
    assert results["between"][0].text.startswith("14 days")
    assert not results["unanswered"][0].supported

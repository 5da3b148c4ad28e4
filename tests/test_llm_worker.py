"""The one LLM worker: a priority queue in front of the real tiny model (question >
ingest > consolidation), tokens streamed back, cancellation while waiting and running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import Cancelled
from models.llm import ChatMessage, LlamaCppLLM
from models.llm_worker import LLMWorker, Priority
from models.registry import SMOLLM2

pytestmark = pytest.mark.llm

STORY = [ChatMessage("user", "Tell a long story about a dragon who learns to bake bread.")]
STARTED: list[int] = []  # job numbers, in the order the worker began to run them


@pytest.fixture(scope="module")
def worker(shared_models: Path) -> Iterator[LLMWorker]:
    running = LLMWorker(
        LlamaCppLLM("smollm2-135m", shared_models / SMOLLM2.filename, n_ctx=512),
        on_start=lambda job: STARTED.append(job.number),
    )
    yield running
    running.close()


def _short(word: str) -> list[ChatMessage]:
    return [ChatMessage("user", f"Say the word {word}.")]


def test_questions_run_before_ingest_before_consolidation(worker: LLMWorker) -> None:
    blocker = worker.submit(STORY, 12, Priority.CONSOLIDATION)
    pieces = iter(blocker)
    next(pieces)  # the blocker is running: everything below has to wait in the queue
    sleep = worker.submit(_short("moon"), 2, Priority.CONSOLIDATION)
    ingest = worker.submit(_short("river"), 2, Priority.INGEST)
    question = worker.submit(_short("apple"), 2, Priority.QUESTION)
    assert worker.pending() == 3
    for job in (blocker, sleep, ingest, question):
        assert job.finished.wait(300)
    list(pieces)
    order = STARTED[-4:]
    assert order == [blocker.number, question.number, ingest.number, sleep.number]
    assert question.text().strip()


def test_tokens_stream_before_the_answer_is_done(worker: LLMWorker) -> None:
    job = worker.submit(STORY, 10, Priority.QUESTION)
    stream = iter(job)
    first = next(stream)
    assert first and not job.finished.is_set()
    rest = list(stream)
    assert len(rest) >= 3 and job.finished.is_set()


def test_cancelling_a_running_job_stops_it_and_frees_the_worker(worker: LLMWorker) -> None:
    full = worker.submit(STORY, 14, Priority.QUESTION)
    full_pieces = list(full)
    job = worker.submit(STORY, 14, Priority.QUESTION)
    stream = iter(job)
    got = [next(stream), next(stream)]
    job.cancel()
    with pytest.raises(Cancelled):
        got.extend(stream)
    assert len(got) < len(full_pieces)
    assert got == full_pieces[: len(got)]  # greedy: the same start
    after = worker.submit(_short("pear"), 3, Priority.QUESTION)
    assert after.text().strip()


def test_cancelling_a_waiting_job_means_it_never_runs(worker: LLMWorker) -> None:
    blocker = worker.submit(STORY, 8, Priority.QUESTION)
    pieces = iter(blocker)
    next(pieces)
    waiting = worker.submit(_short("plum"), 3, Priority.INGEST)
    waiting.cancel()
    list(pieces)
    with pytest.raises(Cancelled):
        waiting.text()
    assert waiting.number not in STARTED


def test_the_worker_is_an_llm_for_the_answering_code(worker: LLMWorker) -> None:
    text = "".join(worker.stream_chat(_short("apple"), 4))
    assert text.strip()
    assert worker.count_tokens("hello world") >= 2


def test_ingest_json_calls_wait_behind_a_question(worker: LLMWorker) -> None:
    import json
    import threading
    import time

    from models.llm_worker import queued_model

    model = queued_model(worker, Priority.INGEST)
    schema = {
        "type": "object",
        "required": ["word"],
        "properties": {"word": {"type": "string", "maxLength": 8}},
    }
    blocker = worker.submit(STORY, 12, Priority.CONSOLIDATION)
    pieces = iter(blocker)
    next(pieces)  # the blocker runs: the ingest call and the question queue up
    answer: dict[str, str] = {}
    caller = threading.Thread(
        target=lambda: answer.update(json=model.complete_json(_short("pear"), schema, 16))
    )
    caller.start()
    deadline = time.monotonic() + 30
    while worker.pending() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    question = worker.submit(_short("apple"), 2, Priority.QUESTION)
    list(pieces)
    caller.join(300)
    assert set(json.loads(answer["json"])) == {"word"}  # grammar-constrained, through the worker
    assert STARTED[-3:] == [blocker.number, question.number, question.number - 1]
    assert isinstance(model.yes_no_margin(_short("yes")), float)  # llama.cpp can score yes/no

"""One worker thread owns the LLM; requests wait in a priority queue.

The user's question goes first, then ingest (extraction), then sleep-time consolidation;
within a priority, first come first served. Tokens stream back through the job as they
are produced. A job can be cancelled while it waits (it never runs) or while it runs (the
worker stops generating at the next token and takes the next job). A running job is not
preempted: a question that arrives during a long consolidation waits for its current
generation, which the consolidator keeps short, or cancels.

The worker itself satisfies the :class:`~models.llm.LLM` protocol (as a question), so the
answering code does not know it is there.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import Cancelled
from models.llm import LLM, ChatMessage, ChoiceLLM, JsonStreamLLM


class Priority(enum.IntEnum):
    QUESTION = 0
    INGEST = 1
    CONSOLIDATION = 2


_DONE = object()


@dataclass(eq=False)
class LLMJob:
    """A request and the stream of its answer: iterate it for the pieces."""

    messages: Sequence[ChatMessage]
    max_tokens: int
    priority: Priority
    number: int
    _pieces: queue.Queue[object] = field(default_factory=queue.Queue, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    finished: threading.Event = field(default_factory=threading.Event, repr=False)
    call: Callable[[Any], Any] | None = field(default=None, repr=False)  # instead of a chat
    json_schema: dict[str, Any] | None = field(default=None, repr=False)  # a constrained chat
    result: Any = field(default=None, repr=False)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def __iter__(self) -> Iterator[str]:
        while True:
            item = self._pieces.get()
            if item is _DONE:
                if self.cancelled:
                    raise Cancelled("the model request was cancelled")
                return
            if isinstance(item, BaseException):
                raise item
            yield str(item)

    def text(self) -> str:
        return "".join(self)


class LLMWorker:
    """``on_start``, when given, is called on the worker thread with each job as it
    begins to run (a job cancelled while it waited never starts): a view can show that
    the model is busy, and a test can see the order the queue ran its jobs in."""

    def __init__(self, llm: LLM, on_start: Callable[[LLMJob], None] | None = None) -> None:
        self.llm = llm
        self.name = llm.name
        self._heap: list[tuple[int, int, LLMJob]] = []
        self._numbers = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._on_start = on_start
        self._thread = threading.Thread(target=self._run, name="rememora-llm", daemon=True)
        self._thread.start()

    # -- the LLM protocol ---------------------------------------------------------------
    def stream_chat(self, messages: Sequence[ChatMessage], max_tokens: int) -> Iterator[str]:
        job = self.submit(messages, max_tokens, Priority.QUESTION)
        try:
            yield from job
        finally:
            job.cancel()  # the caller stopped reading: stop generating

    def stream_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> Iterator[str]:
        """A question's reply constrained by ``json_schema`` when the model can stream one
        (llama.cpp in-process); otherwise its free reply, which the caller parses."""
        job = self.submit(messages, max_tokens, Priority.QUESTION, json_schema)
        try:
            yield from job
        finally:
            job.cancel()

    def count_tokens(self, text: str) -> int:
        return self.llm.count_tokens(text)

    # -- the queue ----------------------------------------------------------------------
    def submit(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        priority: Priority,
        json_schema: dict[str, Any] | None = None,
    ) -> LLMJob:
        job = LLMJob(
            list(messages), max_tokens, priority, next(self._numbers), json_schema=json_schema
        )
        with self._wake:
            if self._closed:
                raise Cancelled("the model worker is closed")
            heapq.heappush(self._heap, (int(priority), job.number, job))
            self._wake.notify()
        return job

    def call(self, fn: Callable[[Any], Any], priority: Priority) -> Any:
        """Run ``fn(model)`` on the worker thread in its turn (e.g. a grammar-constrained
        completion for ingest) and return what it returns; its error is raised here."""
        job = LLMJob([], 0, priority, next(self._numbers), call=fn)
        with self._wake:
            if self._closed:
                raise Cancelled("the model worker is closed")
            heapq.heappush(self._heap, (int(priority), job.number, job))
            self._wake.notify()
        for _ in job:  # ends at the job's end; raises its error
            pass
        return job.result

    def pending(self) -> int:
        with self._wake:
            return len(self._heap)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            for _, _, job in self._heap:
                job.cancel()
                job._pieces.put(_DONE)
                job.finished.set()
            self._heap.clear()
            self._wake.notify()
        self._thread.join(timeout=60)

    def _next(self) -> LLMJob | None:
        with self._wake:
            while not self._heap and not self._closed:
                self._wake.wait()
            if self._closed:
                return None
            return heapq.heappop(self._heap)[2]

    def _run(self) -> None:
        while (job := self._next()) is not None:
            try:
                if not job.cancelled and self._on_start is not None:
                    self._on_start(job)
                if not job.cancelled and job.call is not None:
                    job.result = job.call(self.llm)
                elif not job.cancelled:
                    stream = (
                        self.llm.stream_json(job.messages, job.json_schema, job.max_tokens)
                        if job.json_schema is not None and isinstance(self.llm, JsonStreamLLM)
                        else self.llm.stream_chat(job.messages, job.max_tokens)
                    )
                    try:
                        for piece in stream:
                            if job.cancelled:
                                break
                            job._pieces.put(piece)
                    finally:
                        if isinstance(stream, Generator):  # stop the model's generation now
                            stream.close()
            except Exception as exc:  # handed to the caller, who reads the stream
                job._pieces.put(exc)
            finally:
                job._pieces.put(_DONE)
                job.finished.set()


class QueuedModel:
    """The worker's model as a :class:`~models.llm.JsonLLM` whose calls wait in the queue
    at ``priority``: the ingest extracts through it, so a question asked meanwhile goes
    first. :func:`queued_model` picks the subclass that can also score yes/no."""

    def __init__(self, worker: LLMWorker, priority: Priority) -> None:
        self.name = worker.name
        self._worker = worker
        self._priority = priority

    def complete_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> str:
        return str(
            self._worker.call(
                lambda llm: llm.complete_json(messages, json_schema, max_tokens), self._priority
            )
        )


class QueuedChoiceModel(QueuedModel):
    """A :class:`QueuedModel` that is also a :class:`~models.llm.ChoiceLLM`, for a model
    that can score a yes/no question in one forward pass (llama.cpp in-process)."""

    def yes_no_margin(self, messages: Sequence[ChatMessage]) -> float:
        return float(self._worker.call(lambda llm: llm.yes_no_margin(messages), self._priority))


def queued_model(worker: LLMWorker, priority: Priority) -> QueuedModel:
    """The worker's model behind the queue at ``priority``, able to score yes/no exactly
    when the model itself can (the router then asks for margins, not JSON)."""
    if isinstance(worker.llm, ChoiceLLM):
        return QueuedChoiceModel(worker, priority)
    return QueuedModel(worker, priority)

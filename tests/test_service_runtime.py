"""The runtime as the app uses it: `Service.ask` goes through the one LLM worker, saves
the stable prefix's KV state in the data directory, restores it after an app restart
with the same answer, and stops when its progress is cancelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import Cancelled
from core.service import Service
from models.llm import LlamaCppLLM

pytestmark = pytest.mark.llm

QUESTION = "Where did I park the car?"


class CancelAfterFirstToken:
    def __init__(self) -> None:
        self.tokens = 0

    def update(self, done: int, total: int | None, label: str) -> None:
        return None

    @property
    def cancelled(self) -> bool:
        return self.tokens >= 1


def test_prefix_state_survives_an_app_restart(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with Service(data_dir, embedder=embedder) as service:
        service.add_chat_turn("Alice", "I parked the car on level 3 of the Marina garage.")
        first = service.ask(QUESTION, lambda _piece: None)
        llm = service.load_llm()
        assert isinstance(llm, LlamaCppLLM) and llm.last_prompt is not None
        assert llm.last_prompt.prefix.source == "prefill"
        saved = list(service.runtime.paths.kv_states.glob("*.kvstate"))
        assert len(saved) == 1

    with Service(data_dir, embedder=embedder) as reopened:
        again = reopened.ask(QUESTION, lambda _piece: None)
        llm = reopened.load_llm()
        assert isinstance(llm, LlamaCppLLM) and llm.last_prompt is not None
        assert llm.last_prompt.prefix.source == "disk"
        assert again.text == first.text and again.cited == first.cited


def test_cancelled_ask_stops_and_the_model_stays_usable(service: Service) -> None:
    service.add_chat_turn("Alice", "My sister Jane's birthday is on March 14.")
    progress = CancelAfterFirstToken()

    def count(_piece: str) -> None:
        progress.tokens += 1

    with pytest.raises(Cancelled):
        service.ask("When is Jane's birthday?", count, progress)
    assert progress.tokens == 1
    answer = service.ask("When is Jane's birthday?", lambda _piece: None)
    assert answer.text

"""Vault values reach the answer prompt only when the question asks for that entry.

Real store, real embedder, real tiny model (SmolLM2) for the answers; the model is wrapped
only to keep a copy of each prompt it is given, which is what these tests assert on. The
vault entry is filed by the write path's own vault detector and reconciler (the model's
extraction step is left out: on two shared cores it takes minutes)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from core.ingest.batch_extraction import BatchExtraction, pattern_vault_candidates
from core.ingest.pipeline import IngestReport, apply_extraction
from core.ingest.reconcile import Reconciler
from core.records import MemoryType
from core.service import Service
from core.store.vault import question_names_entry
from models.llm import ChatMessage

SECRET = "4402 9917 3385"


class PromptRecordingLLM:
    """The real model; every chat prompt it receives is kept in ``prompts``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.prompts: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream_chat(self, messages: Sequence[ChatMessage], max_tokens: int) -> Iterator[str]:
        self.prompts.append("\n".join(m.content for m in messages))
        yield from self.inner.stream_chat(messages, max_tokens)

    def stream_json(
        self, messages: Sequence[ChatMessage], json_schema: dict[str, Any], max_tokens: int
    ) -> Iterator[str]:  # the reader's grammar-constrained reply
        self.prompts.append("\n".join(m.content for m in messages))
        yield from self.inner.stream_json(messages, json_schema, max_tokens)


def test_vault_value_in_prompt_only_when_asked(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    with Service(data_dir, embedder=embedder) as plain:
        real = plain.load_llm()
    model = PromptRecordingLLM(real)
    with Service(data_dir, embedder=embedder, llm=model) as service:
        service.add_chat_turn("user", f"My bank account number is {SECRET}.")
        service.add_chat_turn("user", "I adopted two cats last spring, Miso and Tofu.")
        service.record_events()
        [batch] = service.store.pending_batches()
        events = service.events(list(batch.event_ids))
        found = BatchExtraction((), (MemoryType.VAULT,), tuple(pattern_vault_candidates(events)))
        apply_extraction(
            service.store,
            Reconciler(
                service.store,
                service.runtime.index,
                service.runtime.embedder,
                service.runtime.cipher,
            ),
            batch.id,
            found,
            IngestReport(),
        )
        service.record_events()  # index what the reconciler wrote
        vault = [
            m
            for m in service.list_memories(MemoryType.VAULT)
            if service.vault_value(m.id) == SECRET
        ]
        assert vault, "the account number was not filed in the vault"
        assert all(SECRET not in m.text for m in service.list_memories())  # encrypted at rest

        asked = service.ask("What is my bank account number?", on_token=lambda _t: None)
        assert vault[0].id in asked.context
        assert SECRET in model.prompts[-1]

        for question in (
            "How many cats did I adopt?",
            "What number of cats do I have?",  # a vault word, another topic
            "What are the names of my cats?",
        ):
            before = len(model.prompts)
            service.ask(question, on_token=lambda _t: None)
            assert len(model.prompts) == before + 1
            assert SECRET not in model.prompts[-1], question


def test_question_names_entry_by_label_or_kind() -> None:
    assert question_names_entry("what's my home address?", "street address", "address")
    assert question_names_entry(
        "What is my bank account number?", "account number", "account_number"
    )
    assert question_names_entry(
        "what was the wifi password again", "Alice's wifi password", "credential"
    )
    assert not question_names_entry(
        "What number of cats do I have?", "account number", "account_number"
    )
    assert not question_names_entry("What is my ID?", "passport", "id_number")

"""Memories marked private: a `Service` verb marks and unmarks one (with its history
row), and retrieval uses a private memory only when the question names its subject.
Real store, embedder and Chroma."""

from __future__ import annotations

from core.records import MemoryType
from core.retrieval.private import is_private
from core.service import Service


def test_private_memory_is_retrieved_only_when_its_subject_is_asked(service: Service) -> None:
    service.add_chat_turn("Alice", "I see Dr Halvorsen every Thursday about my insomnia.")
    service.add_chat_turn("Alice", "My sister Ana works as a nurse in Porto.")
    service.record_events()
    [private] = [m for m in service.list_memories(MemoryType.EPISODIC) if "Halvorsen" in m.text]
    marked = service.set_private(private.id, True)
    assert is_private(marked) and marked.version == private.version + 1
    last = service.history(private.id)[-1]
    assert (last.op, last.actor, last.reason) == ("UPDATE", "user", "marked private")
    assert service.set_private(private.id, True) == marked  # already private: no change

    def found(question: str) -> bool:
        return any(h.memory.id == private.id for h in service.search(question))

    assert not found("Who do I see on Thursdays?")  # one of its words is not its subject
    assert not found("What does Alice do about sleep?")  # the speaker's name does not count
    assert found("What did Dr Halvorsen say about my insomnia?")

    service.set_private(private.id, False)
    assert found("Who do I see on Thursdays?")
    assert [h.reason for h in service.history(private.id)][-1] == "no longer private"

"""Memories marked private: a `Service` verb marks and unmarks one (with its history
row), and retrieval uses a private memory only when the question names its subject.
Real store, embedder and Chroma; the CLI verb through the real `rememora` entry point."""

from __future__ import annotations

from pathlib import Path

from core.records import MemoryType
from core.retrieval.private import is_private
from core.service import Service
from tests.conftest import run_cli


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


def test_rememora_memories_private_marks_unmarks_and_lists_it(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """The CLI verb: marks a memory private (the list shows it), `--off` undoes it, and an
    unknown id is one line on stderr that changes nothing."""
    with Service(data_dir, embedder=embedder) as service:
        service.add_chat_turn("Alice", "I see Dr Halvorsen weekly.")
        service.record_events()
        [memory] = service.list_memories(MemoryType.EPISODIC)
    marked = run_cli(data_dir, "memories", "private", memory.id)
    assert marked.returncode == 0, marked.stderr
    assert f"{memory.id} is private (v{memory.version + 1})" in marked.stdout
    shown = run_cli(data_dir, "memories", "list", "--type", "episodic")
    assert "(private)" in shown.stdout and "Halvorsen" in shown.stdout
    unmarked = run_cli(data_dir, "memories", "private", memory.id, "--off")
    assert f"{memory.id} is not private (v{memory.version + 2})" in unmarked.stdout
    missing = run_cli(data_dir, "memories", "private", "epi-nope")
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1
    assert "no memory with id" in missing.stderr
    with Service(data_dir, embedder=embedder) as service:
        rows = service.history(memory.id)
    assert [(r.actor, r.reason) for r in rows[-2:]] == [
        ("user", "marked private"),
        ("user", "no longer private"),
    ]

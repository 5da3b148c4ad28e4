import sqlite3
from pathlib import Path

from core.ingest.pipeline import episodic_record
from core.records import EventKind, MemoryType, NewEvent, utcnow
from core.service import Service
from core.store.vector_index import ChromaIndex


def test_chroma_collections_use_our_embedding_function(service: Service, data_dir: Path) -> None:
    service.add_chat_turn("Ann", "I keep the spare key under the blue flowerpot.")
    service.record_events()
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(
        path=str(data_dir / "chroma"),
        settings=Settings(anonymized_telemetry=False, allow_reset=True),
    )
    collection = client.get_collection("rememora_episodic")
    assert collection.count() == 1
    assert collection.configuration_json["embedding_function"]["name"] == "rememora"


def test_dense_query_ranks_by_meaning(service: Service) -> None:
    for text in [
        "My dentist appointment is on Tuesday.",
        "I bought sourdough bread.",
        "The flight to Lisbon leaves at 7am.",
    ]:
        service.add_chat_turn("Ann", text)
    service.record_events()
    vector = service.runtime.embedder.embed(["when do I see the tooth doctor?"])[0]
    hits = service.runtime.index.query(MemoryType.EPISODIC, vector, 3)
    top = service.get(hits[0].memory_id)
    assert "dentist" in top.text
    assert hits[0].similarity > hits[1].similarity


def test_crash_between_ledger_and_chroma_is_repaired(service: Service, data_dir: Path) -> None:
    """A memory committed to the ledger but never indexed (process died) is indexed
    by the next processing run."""
    service.record_events()  # index the seeded core memory first
    event_id = service.store.append_events(
        [NewEvent(EventKind.CHAT, "The wifi password hint is the cat's name.", utcnow(), "Ann")]
    )[0]
    event = service.store.events([event_id])[0]
    with service.store.write(actor="ingest") as tx:
        tx.memories.add(episodic_record(event), "simulated crash")
        tx.events.mark_processed([event_id])
    assert service.runtime.index.count(MemoryType.EPISODIC) == 0
    report = service.record_events()
    assert report.indexed == 1
    assert service.runtime.index.count(MemoryType.EPISODIC) == 1
    pending = (
        sqlite3.connect(data_dir / "ledger.sqlite3")
        .execute("SELECT COUNT(*) FROM memories WHERE index_pending = 1")
        .fetchone()[0]
    )
    assert pending == 0


def test_reindex_rebuilds_chroma_from_ledger(service: Service) -> None:
    for text in ["Ann likes jazz.", "Ann runs on Sundays."]:
        service.add_chat_turn("Ann", text)
    service.record_events()
    assert isinstance(service.runtime.index, ChromaIndex)
    service.runtime.index.reset()
    assert service.runtime.index.count(MemoryType.EPISODIC) == 0
    checks = {c.name: c for c in service.doctor(reindex=True)}
    assert checks["index"].ok, checks["index"].detail
    assert service.runtime.index.count(MemoryType.EPISODIC) == 2
    assert service.runtime.index.count(MemoryType.CORE) == 1


class TextCountingEmbedder:
    """The real embedder; every text it is asked to embed is kept in ``texts``."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.texts: list[str] = []

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return self.inner.embed(texts)


def test_each_turn_is_embedded_once(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Recording embeds each turn's episodic record once: that vector both groups the
    batch and is the one indexed (the event text is not embedded separately)."""
    counting = TextCountingEmbedder(embedder)
    turns = [
        "I booked the dentist for Tuesday.",
        "The flight to Lisbon leaves at 7am.",
        "My sister likes jazz.",
    ]
    with Service(data_dir, embedder=counting) as service:
        for text in turns:
            service.add_chat_turn("Ann", text)
        service.record_events()
        assert service.runtime.index.count(MemoryType.EPISODIC) == 3
        turn_texts = [t for t in counting.texts if any(turn in t for turn in turns)]
        assert sorted(turn_texts) == sorted(f"Ann: {text}" for text in turns)
        vector = embedder.embed(["when is the tooth doctor?"])[0]
        top = service.get(service.runtime.index.query(MemoryType.EPISODIC, vector, 1)[0].memory_id)
        assert "dentist" in top.text

"""The write path from the event log to memory, in two crash-safe phases.

1. Record: pending events are embedded and grouped into batches (core.ingest.batching);
   then in ONE short transaction each event gets its raw episodic record, each batch a
   row in ``batches``, and the events are marked processed. So whatever the model later
   does, nothing observed is lost.
2. Extract: for each pending batch the router and the routed extractors run, and the
   texts reconcile will compare are embedded (no transaction is open while a model
   runs); then ONE transaction reconciles every candidate through the memory writer and
   marks the batch done. A failed extraction counts a try; after ``max_attempts`` the
   batch is marked failed.

A kill at any point rolls back the open transaction; the next run redoes that step from
the same inputs (greedy decoding, deterministic grouping), so the result equals an
uninterrupted run. Chroma follows the ledger's ``index_pending`` flags after each step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from core.errors import Cancelled, ExtractionError, ModelError
from core.ingest import learned_router
from core.ingest.batch_extraction import BatchExtraction, event_vault_candidates, extract_batch
from core.ingest.batching import group_events
from core.ingest.reconcile import Op, Reconciler, keep_in_vault
from core.ingest.type_extractors import Candidate
from core.ingest.vault_masking import find_variants, mask_values
from core.ingest.vector_cache import VectorsMissing
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import Event, EventId, EventKind, MemoryType, NewMemory
from core.store.ledger import Ledger
from core.store.vault import MASK, VaultCipher
from core.store.vector_index import VectorIndex
from core.store.write import StoreWrite
from models.embedder import Embedder
from models.llm import JsonLLM

BATCH = 64
RECORD_CHUNK = 200
MAX_ATTEMPTS = 3
REFILLS = 4  # writes redone after embedding a text the write itself made


@dataclass
class IngestReport:
    events: int = 0
    batches: int = 0
    failed_batches: int = 0
    retry_later: int = 0
    ops: Counter[tuple[str, str]] = field(default_factory=Counter)
    indexed: int = 0
    dropped: int = 0  # candidates the events did not support (grounding check)
    model_calls: int = 0

    def summary(self) -> str:
        if not (
            self.events or self.indexed or self.batches or self.retry_later or self.failed_batches
        ):
            return "nothing pending"
        parts = [f"{n} {op} {t}" for (op, t), n in sorted(self.ops.items())]
        head = f"{self.events} event(s), {self.batches} batch(es)"
        if self.retry_later or self.failed_batches:
            head += f" ({self.retry_later} to retry, {self.failed_batches} failed)"
        tail = f"; {self.dropped} unsupported candidate(s) dropped" if self.dropped else ""
        return head + ": " + (", ".join(parts) or "no memory changes") + tail


def episodic_record(event: Event) -> NewMemory:
    speaker = event.speaker or ("screen" if event.kind is EventKind.SCREEN else "user")
    return NewMemory(
        type=MemoryType.EPISODIC,
        text=f"{speaker}: {event.text}",
        event_time=event.occurred_at,
        source_event_ids=(event.id,),
        fields={
            "actor": speaker,
            "event_type": f"{event.kind.value}_turn",
            **({"session": event.payload["session"]} if "session" in event.payload else {}),
        },
    )


def sync_index(
    ledger: Ledger, index: VectorIndex, embedder: Embedder, progress: Progress = NULL_PROGRESS
) -> int:
    """Embed and index every memory the ledger marks as not yet in Chroma."""
    pending = ledger.pending_index()
    for start in range(0, len(pending), BATCH):
        check_cancelled(progress)
        chunk = pending[start : start + BATCH]
        index.upsert(chunk, embedder.embed([m.text for m in chunk]))
        ledger.mark_indexed([m.id for m in chunk])
        progress.update(start + len(chunk), len(pending), "indexing memories")
    return len(pending)


def _sensitive(
    records: Sequence[NewMemory],
    events: Sequence[Event],
    vectors: Sequence[Sequence[float]],
    embedder: Embedder,
) -> dict[EventId, list[Candidate]]:
    """Per event, the vault candidates found in it: exact patterns always; code-shaped
    values where the learned router's vault head flags the event."""
    router = learned_router.for_embedder(embedder.name)
    flagged = [False] * len(events)
    if router is not None:
        threshold = router.threshold(MemoryType.VAULT)
        flagged = [
            p >= threshold
            for p in router.score(MemoryType.VAULT, [r.text for r in records], vectors)
        ]
    found = {}
    for event, learned in zip(events, flagged):
        if candidates := event_vault_candidates(event, learned):
            found[event.id] = candidates
    return found


def _masked(event: Event, candidates: Sequence[Candidate]) -> Event:
    text = event.text
    for secret in sorted({c.secret for c in candidates}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return replace(event, text=text)


def record_pending(
    ledger: Ledger,
    index: VectorIndex,
    embedder: Embedder,
    report: IngestReport,
    progress: Progress = NULL_PROGRESS,
    vault_values: Sequence[str] = (),
    cipher: VaultCipher | None = None,
) -> None:
    """Phase 1: raw episodic records and batches for every pending event.

    A value already in the vault (``vault_values``, in clear) that an event spells out, in
    any form, is masked in the event and its record before either is written on (the
    ledger, Chroma), as extraction does for a value it files. Given ``cipher``, a new
    sensitive value found in an event goes to the vault in the same write.

    Each turn is embedded once, before the write opens: the vector of its episodic record
    both groups the events into batches and goes into Chroma right after the write (a
    crash in between leaves the records ``index_pending``, and `sync_index` embeds them
    again). The write itself is short, so reads (status, search) do not wait for the
    model."""
    total = ledger.count_events().get("pending", 0)
    while True:
        check_cancelled(progress)
        events = ledger.pending_events(limit=RECORD_CHUNK)
        if not events:
            break
        records = [episodic_record(event) for event in events]
        hidden = {
            event.id: pieces
            for event in events
            if (pieces := [p for v in vault_values for p in find_variants(event.text, v)])
        }
        records = [
            replace(record, text=mask_values(record.text, vault_values))
            if record.source_event_ids[0] in hidden
            else record
            for record in records
        ]
        vectors = embedder.embed([record.text for record in records])
        groups = group_events(events, vectors)
        # a sensitive value goes to the vault before anything else holds it: the event is
        # masked in the same write that records it, and neither its raw record nor Chroma
        # ever sees the value in clear
        vault = _sensitive(records, events, vectors, embedder) if cipher is not None else {}
        if vault:
            changed = [i for i, e in enumerate(events) if e.id in vault]
            for i in changed:
                record = episodic_record(_masked(events[i], vault[events[i].id]))
                if events[i].id in hidden:  # and the values the vault already holds
                    record = replace(record, text=mask_values(record.text, vault_values))
                records[i] = record
            for i, vector in zip(changed, embedder.embed([records[i].text for i in changed])):
                vectors[i] = vector
        with ledger.write(actor="ingest") as tx:
            # an ask recording events while the background ingest does: the events must
            # still be pending, or another recorder took them (and this chunk is read again)
            if not tx.events.all_pending([e.id for e in events]):
                continue
            for event_id, pieces in hidden.items():
                for piece in sorted(pieces, key=len, reverse=True):
                    tx.events.redact_text(event_id, piece, MASK)
            for event_id, candidates in vault.items():
                assert cipher is not None
                for candidate in candidates:
                    op, _memory = keep_in_vault(tx.memories, cipher, candidate)
                    report.ops[(op.value, MemoryType.VAULT.value)] += 1
                for secret in sorted({c.secret for c in candidates}, key=len, reverse=True):
                    tx.events.redact_text(event_id, secret, MASK)
            written = [
                tx.memories.add(record, "raw episodic record of an event") for record in records
            ]
            for group in groups:
                tx.batches.insert([e.id for e in group])
            tx.events.mark_processed([e.id for e in events])
        report.ops[(Op.ADD.value, MemoryType.EPISODIC.value)] += len(written)
        if vault:
            ledger.checkpoint()
        index.upsert(written, vectors)
        ledger.mark_indexed([memory.id for memory in written])
        report.events += len(events)
        progress.update(report.events, total, "recording events")


def _mask_secrets(candidate: Candidate, secrets: Sequence[str]) -> Candidate:
    """The candidate with every spelling of every vault value masked (core.ingest.
    vault_masking: "12 Oak St." also as "12 oak street")."""
    text = mask_values(candidate.text, secrets)
    fields = {k: mask_values(v, secrets) for k, v in candidate.fields.items()}
    return Candidate(
        candidate.type,
        text,
        candidate.key,
        candidate.source_event_ids,
        candidate.event_time,
        fields,
        candidate.sensitivity,
        candidate.secret,
        candidate.actor,
    )


def _redact_sources(tx: StoreWrite, ledger: Ledger, candidate: Candidate) -> None:
    """Take a vault value (in any spelling) out of the events that said it and their
    raw records."""
    secret = candidate.secret
    sources = set(candidate.source_event_ids)
    for event in ledger.events(list(candidate.source_event_ids)):
        for piece in find_variants(event.text, secret):
            tx.events.redact_text(event.id, piece, MASK)
    for memory in ledger.list_memories(MemoryType.EPISODIC, include_inactive=True):
        if not set(memory.source_event_ids) & sources:
            continue
        for piece in find_variants(memory.text, secret):
            memory = tx.memories.redact(
                memory,
                piece,
                MASK,
                "vault value kept out of clear text",
                candidate.source_event_ids,
                candidate.actor,
            )


def known_vault_values(ledger: Ledger, decrypt: Callable[[str], str]) -> list[str]:
    """The values of the vault entries the store holds (any status), in clear: what no
    other memory may spell out."""
    values = []
    for memory in ledger.list_memories(MemoryType.VAULT, include_inactive=True):
        token = memory.fields.get("value")
        if token:
            values.append(decrypt(token))
    return values


def _write_extraction(
    ledger: Ledger,
    reconciler: Reconciler,
    batch_id: int,
    extraction: BatchExtraction,
    candidates: Sequence[Candidate],
    vault: Sequence[Candidate],
    vectors: Embedder,
) -> Counter[tuple[str, str]]:
    """The one write of phase 2; returns the ops it applied as (op, type) counts."""
    ops: Counter[tuple[str, str]] = Counter()
    with ledger.write(actor="extractor") as tx:
        for candidate in candidates:
            op, _memory = reconciler.apply(tx.memories, candidate, vectors)
            ops[(op.value, candidate.type.value)] += 1
        for candidate in vault:
            _redact_sources(tx, ledger, candidate)
        tx.batches.complete(
            batch_id,
            extraction.routed_by_model,
            extraction.routed_by_rules,
            {f"{op} {kind}": n for (op, kind), n in ops.items()},
        )
        if vault:
            tx.compact_text_index()
    return ops


def apply_extraction(
    ledger: Ledger,
    reconciler: Reconciler,
    batch_id: int,
    extraction: BatchExtraction,
    report: IngestReport,
) -> None:
    """Phase 2's write: every candidate reconciled and the batch marked done, atomically.

    What reconcile compares is embedded first (no model runs while the write is open);
    should the write need a text made inside it, it rolls back, that text is embedded,
    and the write runs again from the same inputs."""
    vault = [c for c in extraction.candidates if c.type is MemoryType.VAULT and c.secret]
    secrets = sorted(
        {c.secret for c in vault} | set(known_vault_values(ledger, reconciler.cipher.decrypt)),
        key=len,
        reverse=True,
    )
    others = [
        _mask_secrets(c, secrets) for c in extraction.candidates if c.type is not MemoryType.VAULT
    ]
    candidates = [*vault, *others]
    vectors = reconciler.prepare(candidates)
    for _attempt in range(REFILLS):
        try:
            ops = _write_extraction(
                ledger, reconciler, batch_id, extraction, candidates, vault, vectors
            )
            break
        except VectorsMissing as missing:
            vectors.fill(missing.texts)  # the write rolled back; embed, then write again
    else:
        vectors.strict = False  # texts that keep changing: embed inside, as a last resort
        ops = _write_extraction(
            ledger, reconciler, batch_id, extraction, candidates, vault, vectors
        )
    report.ops.update(ops)
    if vault:
        ledger.checkpoint()


def extract_pending(
    ledger: Ledger,
    index: VectorIndex,
    embedder: Embedder,
    reconciler: Reconciler,
    load_llm: Callable[[], JsonLLM],
    now: Callable[[], datetime],
    report: IngestReport,
    progress: Progress = NULL_PROGRESS,
    max_attempts: int = MAX_ATTEMPTS,
) -> None:
    """Phase 2: route, extract and reconcile each pending batch, oldest first."""
    batches = ledger.pending_batches()
    for done, batch in enumerate(batches, start=1):
        check_cancelled(progress)
        sync_index(ledger, index, embedder)  # neighbours must see every earlier batch
        events = ledger.events(batch.event_ids)
        try:
            extraction = extract_batch(load_llm(), events, now(), embedder)
        except Cancelled:
            raise
        except (ExtractionError, ModelError, ValueError, RuntimeError) as exc:
            with ledger.write(actor="extractor") as tx:
                status = tx.batches.fail(batch.id, str(exc), max_attempts)
            if status == "failed":
                report.failed_batches += 1
            else:
                report.retry_later += 1
            continue
        apply_extraction(ledger, reconciler, batch.id, extraction, report)
        report.batches += 1
        report.dropped += extraction.dropped
        report.model_calls += extraction.calls
        progress.update(done, len(batches), "extracting memories")


def process_pending(
    ledger: Ledger,
    index: VectorIndex,
    embedder: Embedder,
    progress: Progress = NULL_PROGRESS,
    *,
    reconciler: Reconciler | None = None,
    load_llm: Callable[[], JsonLLM] | None = None,
    now: Callable[[], datetime] | None = None,
    vault_values: Sequence[str] = (),
    cipher: VaultCipher | None = None,
) -> IngestReport:
    """Record pending events; then, given a model, extract typed memories from batches.
    ``vault_values``: the vault's values in clear, masked wherever an event spells one;
    given the vault's cipher, new sensitive values go to the vault as events are recorded."""
    report = IngestReport()
    record_pending(ledger, index, embedder, report, progress, vault_values, cipher)
    if reconciler is not None and load_llm is not None and now is not None:
        extract_pending(ledger, index, embedder, reconciler, load_llm, now, report, progress)
    report.indexed = sync_index(ledger, index, embedder, progress)
    return report

"""Step: re-read what the write path missed. Batches extracted since the last run whose
routing produced no semantic fact and no core statement are read again by the same
extractors (semantic and core; grammar-constrained, at consolidation priority), and
what they find is reconciled like any candidate (duplicates are NOOPs), as
``consolidator``, if the events say it (see :func:`grounded`: a small model may echo
an extractor prompt's wording instead of reading the events). A core statement found
again goes to the ``human`` block only, and only from the user's own chat turns (see
:func:`may_write`): consolidation never rewrites the ``persona`` block, and the block
about the user is not written on another speaker's, the screen's or an import's word.
At most ``reread_max_batches`` batches a run, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.consolidate.context import ACTOR, RunContext
from core.identity import USER_SPEAKER
from core.ingest.batch_extraction import extract_type
from core.ingest.injection import keep_trusted
from core.ingest.pipeline import REFILLS
from core.ingest.reconcile import Op
from core.ingest.type_extractors import EXTRACTORS, Candidate, normalize
from core.ingest.vector_cache import VectorCache, VectorsMissing
from core.progress import check_cancelled
from core.records import Event, EventKind, MemoryType
from core.store.batches import Batch

REREAD_TYPES = (MemoryType.SEMANTIC, MemoryType.CORE)


def missed_types(batch: Batch) -> bool:
    """Whether the batch's extraction wrote nothing typed of ``REREAD_TYPES``."""
    return not any(
        key.endswith(f" {t.value}") and not key.startswith(Op.NOOP.value) and count > 0
        for key, count in batch.ops.items()
        for t in REREAD_TYPES
    )


def grounded(candidate: Candidate, said: str) -> bool:
    """Whether the events say what the candidate claims: a fact's value, or most words
    of a core statement, appear in them (a small model may echo its prompt instead)."""
    value = normalize(candidate.fields.get("value", ""))
    if candidate.type is MemoryType.SEMANTIC:
        return bool(value) and f" {value} " in f" {said} "
    words = [w for w in normalize(candidate.text).split() if len(w) > 3]
    heard = set(said.split())
    return bool(words) and sum(w in heard for w in words) * 2 >= len(words)


def may_write(candidate: Candidate, events: Sequence[Event]) -> bool:
    """Whether a re-read candidate may be written: anything but a core statement; a core
    statement when it is about the user (the ``human`` block) and one of its sources (or,
    citing none of the batch's events, the batch) is a chat turn the user typed."""
    if candidate.type is not MemoryType.CORE:
        return True
    if candidate.fields.get("block", "human") != "human":
        return False
    by_id = {e.id: e for e in events}
    sources = [by_id[i] for i in candidate.source_event_ids if i in by_id] or list(events)
    return any(e.kind is EventKind.CHAT and e.speaker == USER_SPEAKER for e in sources)


def due_batches(ctx: RunContext) -> list[Batch]:
    done = [
        b
        for b in ctx.ledger.all_batches()
        if b.status == "done" and max(b.event_ids, default=0) > ctx.since_event and missed_types(b)
    ]
    return list(reversed(done))[: ctx.settings.reread_max_batches]


def run(ctx: RunContext) -> None:
    batches = due_batches(ctx)
    if not batches:
        return
    if ctx.dry_run:  # the model reads only in a real run
        ctx.note(f"re-read {len(batches)} batch(es) that produced no fact")
        return
    candidates: list[Candidate] = []
    for done, batch in enumerate(batches):
        ctx.progress.update(done, len(batches), "re-reading batches")
        check_cancelled(ctx.progress)
        events = ctx.ledger.events(batch.event_ids)
        found: list[Candidate] = []
        for memory_type in REREAD_TYPES:
            ctx.report.llm_calls += 1
            found += extract_type(ctx.llm(), EXTRACTORS[memory_type], events, ctx.clock())
        said = normalize(" ".join(e.text for e in events))
        candidates += [
            replace(c, actor=ACTOR)
            for c in keep_trusted(events, found)
            if grounded(c, said) and may_write(c, events)
        ]
    for candidate in candidates:
        ctx.note(f"re-read {candidate.type.value}: {candidate.text[:80]!r}")
    if not candidates:
        return
    vectors = ctx.reconciler.prepare(candidates)
    for _attempt in range(REFILLS):
        try:
            ctx.report.reread += _write(ctx, candidates, vectors)
            return
        except VectorsMissing as missing:
            vectors.fill(missing.texts)  # the write rolled back; embed, then write again
    vectors.strict = False  # texts that keep changing: embed inside, as a last resort
    ctx.report.reread += _write(ctx, candidates, vectors)


def _write(ctx: RunContext, candidates: list[Candidate], vectors: VectorCache) -> int:
    changed = 0
    with ctx.ledger.write(actor=ACTOR) as tx:
        for candidate in candidates:
            op, _memory = ctx.reconciler.apply(tx.memories, candidate, vectors)
            changed += op is not Op.NOOP
    return changed

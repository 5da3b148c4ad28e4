"""Model calls per 100 chat events, before (rules routing, one extractor call per routed
type) and after (learned routing, one call per batch that touches any type), on a
simulated chat day made of the TEST part's turns.

    PYTHONPATH=$PWD python bench/write_path_calls.py [--gap-minutes 1]

The turns of every test snippet, in order, one ``--gap-minutes`` apart, are grouped into
batches by core.ingest.batching exactly as ingest does. For each batch both routers run
(no LLM: routing alone fixes the number of extraction calls), and a snippet's expected
types are "covered" when its batch is routed to all of them (routing recall: what the
extractors can find at all). Writes bench/out/write_path_calls.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from labelled_set import load

from core.identity import Identity
from core.ingest import learned_router
from core.ingest.batch_extraction import pattern_vault_candidates
from core.ingest.batching import group_events
from core.ingest.pipeline import episodic_record
from core.ingest.routing import combine, rule_routes
from core.records import Event, EventId, EventKind, EventStatus, MemoryType
from models.embedder import SentenceTransformerEmbedder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gap-minutes", type=float, default=1.0)
    parser.add_argument(
        "--json", type=Path, default=REPO / "bench" / "out" / "write_path_calls.json"
    )
    args = parser.parse_args()
    identity = Identity()
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    events, owner = [], {}
    snippets = load("test")
    for snippet in snippets:
        for turn in snippet.turns:
            event_id = EventId(len(events) + 1)
            when = start + timedelta(minutes=args.gap_minutes * len(events))
            speaker = identity.canonical(turn.speaker)
            events.append(
                Event(
                    event_id,
                    EventKind.CHAT,
                    turn.text,
                    when,
                    speaker,
                    "chat",
                    {},
                    EventStatus.PENDING,
                    0,
                )
            )
            owner[event_id] = snippet
    embedder = SentenceTransformerEmbedder()
    router = learned_router.for_embedder(embedder.name)
    assert router is not None
    batches = group_events(events, embedder.embed([episodic_record(e).text for e in events]))
    before_calls = after_calls = 0
    covered = {"before": 0, "after": 0}
    wanted = 0
    for batch in batches:
        text = "\n".join(e.text for e in batch)
        old = set(combine([], rule_routes(text, bool(pattern_vault_candidates(batch)))))
        new = router.routes(batch, embedder.embed(learned_router.windows(batch)))
        if MemoryType.CORE in new:
            new.add(MemoryType.SEMANTIC)
        before_calls += len(old)
        after_calls += 1 if new else 0
        for snippet in {owner[e.id].id: owner[e.id] for e in batch}.values():
            want = {MemoryType(t) for t in snippet.types}
            wanted += len(want)
            covered["before"] += len(want & old)
            covered["after"] += len(want & new)
    report = {
        "events": len(events),
        "batches": len(batches),
        "gap_minutes": args.gap_minutes,
        "calls_per_100_events": {
            "before": round(100 * before_calls / len(events), 1),
            "after": round(100 * after_calls / len(events), 1),
        },
        "routing_recall_of_expected_types": {k: round(v / wanted, 3) for k, v in covered.items()},
        "when": datetime.now(UTC).isoformat(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

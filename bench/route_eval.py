"""Routing on the TEST part of the labelled set: the rules router against the learned one.

    PYTHONPATH=$PWD python bench/route_eval.py [--part test] [--json bench/out/routing_v2.json]

Each snippet is routed as one batch: its turns become events (speaker as written, the
user canonical), the rules router (core.ingest.routing.rule_routes, with its semantic
fallback) and the learned router (core.ingest.learned_router, shipped parameters) each
give a set of types. Reports exact-set accuracy and per-type precision/recall. No LLM.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from labelled_set import Snippet, load

from core.identity import Identity
from core.ingest import learned_router
from core.ingest.batch_extraction import event_vault_candidates, pattern_vault_candidates
from core.ingest.routing import combine, rule_routes
from core.records import Event, EventId, EventKind, EventStatus, MemoryType
from models.embedder import SentenceTransformerEmbedder


def events_of(snippet: Snippet) -> list[Event]:
    identity = Identity()
    return [
        Event(
            EventId(i),
            EventKind.CHAT,
            turn.text,
            turn.time,
            identity.canonical(turn.speaker),
            "chat",
            {},
            EventStatus.PENDING,
            0,
        )
        for i, turn in enumerate(snippet.turns, start=1)
    ]


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def scores(rows: list[tuple[set[str], set[str]]]) -> dict[str, object]:
    per_type = {}
    for t in MemoryType:
        tp = sum(t.value in got and t.value in want for got, want in rows)
        fp = sum(t.value in got and t.value not in want for got, want in rows)
        fn = sum(t.value not in got and t.value in want for got, want in rows)
        per_type[t.value] = {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn)}
    return {
        "exact_set_accuracy": _ratio(sum(got == want for got, want in rows), len(rows)),
        "per_type": per_type,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", default="test", choices=["test", "tune"])
    parser.add_argument("--embedder", default="all-minilm-l6-v2")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "routing_v2.json")
    args = parser.parse_args()
    snippets = load(args.part)
    embedder = SentenceTransformerEmbedder(args.embedder)
    router = learned_router.for_embedder(args.embedder)
    assert router is not None, "no router trained for this embedder: run bench/train_router.py"
    rules_rows, learned_rows, cases = [], [], []
    for snippet in snippets:
        events = events_of(snippet)
        text = "\n".join(e.text for e in events)
        by_rules = {
            t.value for t in combine([], rule_routes(text, bool(pattern_vault_candidates(events))))
        }
        learned = {
            t.value for t in router.routes(events, embedder.embed(learned_router.windows(events)))
        }
        want = set(snippet.types)
        rules_rows.append((by_rules, want))
        learned_rows.append((learned, want))
        cases.append(
            {
                "id": snippet.id,
                "want": sorted(want),
                "rules": sorted(by_rules),
                "learned": sorted(learned),
            }
        )
    # sensitive values as ingest finds them while recording (patterns + vault head + shape)
    expected = caught = spurious = 0
    threshold = router.threshold(MemoryType.VAULT)
    for snippet in snippets:
        events = events_of(snippet)
        records = [f"{e.speaker}: {e.text}" for e in events]
        flagged = router.score(MemoryType.VAULT, records, embedder.embed(records))
        found = [
            c.secret
            for event, p in zip(events, flagged)
            for c in event_vault_candidates(event, p >= threshold)
        ]
        expected += len(snippet.vault)
        caught += sum(value in found for value in snippet.vault)
        spurious += sum(value not in snippet.vault for value in found)
    report = {
        "part": args.part,
        "vault_values": {"expected": expected, "caught": caught, "spurious": spurious},
        "snippets": len(snippets),
        "embedder": args.embedder,
        "when": datetime.now(UTC).isoformat(),
        "rules": scores(rules_rows),
        "learned": scores(learned_rows),
        "cases": cases,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "cases"}, indent=1))


if __name__ == "__main__":
    main()

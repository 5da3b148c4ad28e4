"""Ingest throughput (events per minute) for a slice of a LOCOMO conversation.

    PYTHONPATH=$PWD python bench/ingest_throughput.py --turns 40 --model qwen2.5-coder-0.5b

Imports the first ``--turns`` turns of the first conversation in
../shared/bench/locomo/locomo_dev.json into a fresh data directory, runs the full ingest
(raw records, batching, routing, extraction, reconcile, indexing) and writes
bench/out/ingest_throughput_<model>.json with events/minute and ops per type.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.ingest.importers import read_chat_file
from core.service import Service, use_throwaway_keys
from core.settings import Settings

LOCOMO = REPO.parent / "shared" / "bench" / "locomo" / "locomo_dev.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", type=Path, default=Path("/tmp/rememora-bench-models"))
    parser.add_argument("--locomo", type=Path, default=LOCOMO)
    args = parser.parse_args()
    events = read_chat_file(args.locomo)
    first = [e for e in events if e.source == events[0].source][: args.turns]
    settings = Settings.model_validate(
        {"llm": {"model": args.model, "n_threads": args.threads, "n_ctx": 2048}}
    )
    use_throwaway_keys()  # a temporary store: no OS keyring entry, a random passphrase
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        args.models_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / "models").symlink_to(args.models_dir.resolve(), target_is_directory=True)
        with Service(data_dir, settings=settings) as service:
            service.load_models()
            service.add_events(first)
            started = time.perf_counter()
            report = service.ingest()
            seconds = time.perf_counter() - started
            batches = service.batches()
    result = {
        "model": args.model,
        "threads": args.threads,
        "conversation": first[0].source,
        "events": report.events,
        "batches": len(batches),
        "seconds": round(seconds, 1),
        "events_per_minute": round(report.events / seconds * 60, 2),
        "failed_batches": report.failed_batches,
        "ops": {f"{op} {t}": n for (op, t), n in sorted(report.ops.items())},
        "routed": [sorted(set(b.routed_by_model) | set(b.routed_by_rules)) for b in batches],
        "when": datetime.now(UTC).isoformat(),
        "note": "a slice of one LOCOMO conversation, on a shared, loaded 2-core machine",
    }
    out = REPO / "bench" / "out" / f"ingest_throughput_{args.model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

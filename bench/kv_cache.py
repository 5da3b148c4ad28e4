"""The KV state cache's benchmark: time to first token, cold against warm.

    .venv/bin/python bench/kv_cache.py [--model qwen2.5-coder-0.5b] [--repeats 3] [--json bench/out/kv.json]

The same as `rememora bench kv --json OUT` (evaluation/kv_bench.py documents each figure),
in a throwaway data directory. Targets on 2 CPU cores with the default model:
speedup >= 10 at a >= 1,500-token prefix, speedup_with_memories >= 2.5.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.commands.bench import write_result
from core.service import Service, use_throwaway_keys
from evaluation.kv_bench import bench_kv


class PrintedSteps:
    """Prints each step with the time it starts, so a long run shows where it is."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.last = ""

    def update(self, done: int, total: int | None, label: str) -> None:
        if label != self.last:
            self.last = label
            print(
                f"[{time.perf_counter() - self.began:7.1f} s] {label}", file=sys.stderr, flush=True
            )

    @property
    def cancelled(self) -> bool:
        return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prefix-tokens", type=int, default=1600)
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "out" / "kv.json")
    parser.add_argument("--data-dir", type=Path, help="reuse a data directory (its models/)")
    args = parser.parse_args()
    if args.data_dir is None:
        use_throwaway_keys()  # a temporary store: no OS keyring entry, a random passphrase
    with tempfile.TemporaryDirectory(prefix="rememora-bench-kv-") as folder:
        with Service(args.data_dir or Path(folder)) as service:
            result = bench_kv(
                service, args.model, args.repeats, args.prefix_tokens, 800, PrintedSteps()
            )
    write_result(args.json, result)
    print(json.dumps(result.details, indent=2))
    ok = result.headline["speedup"] >= 10 and result.headline["speedup_with_memories"] >= 2.5
    print("targets met" if ok else "targets NOT met", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

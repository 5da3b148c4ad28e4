"""`rememora bench kv --json OUT` end to end, scaled down to the tiny model and a short
prefix so it runs in the default suite; the real measurement (the default model, a
1,600-token prefix) is bench/kv_cache.py. Checks the file's shape, not the timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.llm, pytest.mark.slow]

ISSUE_KEYS = [
    "prefix_tokens",
    "ttft_cold_ms",
    "ttft_warm_ms",
    "speedup",
    "restore_ms",
    "state_bytes",
    "decode_tokens_per_s",
    "ttft_with_memories_cold_ms",
    "ttft_with_memories_warm_ms",
    "speedup_with_memories",
]


def test_bench_kv_writes_exactly_the_issue_keys(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "kv.json"
    result = run_cli(
        data_dir,
        "bench",
        "kv",
        "--model",
        "smollm2-135m",
        "--repeats",
        "1",
        "--prefix-tokens",
        "120",
        "--memory-tokens",
        "60",
        "--json",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    headline = json.loads(out.read_text())
    assert list(headline) == ISSUE_KEYS
    assert headline["prefix_tokens"] >= 120
    assert headline["state_bytes"] > 0 and headline["decode_tokens_per_s"] > 0
    for key in ISSUE_KEYS:
        assert headline[key] > 0, key
    assert headline["speedup"] == round(headline["ttft_cold_ms"] / headline["ttft_warm_ms"], 2)
    details = json.loads((tmp_path / "kv.details.json").read_text())
    assert {
        "ttft_with_memories_fresh_warm_ms",
        "speedup_with_memories_fresh",
        "ttft_with_memories_fresh_warm_disk_ms",
        "ttft_followup_same_session_ms",
    } <= set(details)
    # the follow-up question reused the recurring memories' KV, not only the prefix
    assert details["reused_tokens_with_memories"] > headline["prefix_tokens"]
    assert details["model"] == "smollm2-135m"
    assert not (data_dir / "kv-states").exists()  # the bench's states live in a temp folder

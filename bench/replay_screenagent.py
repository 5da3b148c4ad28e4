"""Replay ScreenAgent's screenshots through Rememora's capture pipeline and through the
naive baseline (no dedup, full-frame OCR of every frame) in the same run, each into its
own fresh store, and compare retrieval (hit@1, hit@5) and cost per frame.

    PYTHONPATH=. .venv/bin/python bench/replay_screenagent.py [--sessions N]

Writes bench/out/replay_screenagent.json and prints it."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.service import Service, use_throwaway_keys
from evaluation.replay import replay_and_score

SCREENAGENT = REPO.parent / "shared" / "bench" / "screens" / "screenagent"


def run(mode: str, sessions: int | None, folder: Path) -> dict[str, object]:
    use_throwaway_keys()  # a temporary store: no OS keyring entry, a random passphrase
    with tempfile.TemporaryDirectory(prefix=f"rememora-replay-{mode}-") as data:
        with Service(Path(data)) as service:
            report = replay_and_score(
                service, folder, naive=mode == "naive", limit_sessions=sessions
            )
        result = report.to_json()
    print(json.dumps({k: v for k, v in result.items() if k != "per_session"}, indent=1), flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, help="only the first N sessions")
    parser.add_argument("--folder", type=Path, default=SCREENAGENT)
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "out" / "replay_screenagent.json"
    )
    args = parser.parse_args()
    if not (args.folder / "index.json").exists():
        print(f"no index.json in {args.folder}", file=sys.stderr)
        return 2
    ours = run("rememora", args.sessions, args.folder)
    naive = run("naive", args.sessions, args.folder)
    keys = (
        "hit@1",
        "hit@5",
        "ocr_ms_per_frame",
        "ocr_cpu_ms_per_frame",
        "media_bytes_per_frame",
        "text_bytes_per_frame",
        "wall_seconds",
        "frames_kept",
        "ocr_full_frames",
    )
    comparison = {k: {"rememora": ours.get(k), "naive": naive.get(k)} for k in keys}
    for k in (
        "ocr_ms_per_frame",
        "ocr_cpu_ms_per_frame",
        "media_bytes_per_frame",
        "text_bytes_per_frame",
        "wall_seconds",
    ):
        if naive.get(k):
            comparison[k]["rememora_over_naive"] = round(float(ours[k]) / float(naive[k]), 3)  # type: ignore[arg-type]
    result = {
        "dataset": str(args.folder),
        "sessions": args.sessions or "all",
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}; shared, loaded",
        "comparison": comparison,
        "rememora": ours,
        "naive": naive,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(comparison, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""CPU share of screen capture under Xvfb, with a static and with a changing screen.

Starts its own Xvfb (1280x800) and a real Qt window on it, runs the real capture loop
(default settings: ~2 s while changing, backing off to 30 s when idle) for SECONDS each,
and reports the capture thread's CPU time over wall time, the whole process's (capture
plus background OCR), and the frame counts.

    PYTHONPATH=. .venv/bin/python bench/capture_cpu.py [--seconds 60]

Writes bench/out/capture_cpu.json."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.service import Service, use_throwaway_keys

SHOW = REPO / "tests" / "capture" / "show_text.py"


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        return server, ":" + pipe.readline().strip()


def measure(display: str, change_s: float, seconds: float) -> dict[str, object]:
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    window = subprocess.Popen(
        [
            sys.executable,
            str(SHOW),
            "Bench page",
            "Capture cost bench\\nThe quick brown fox",
            "--app",
            "bench",
            "--change",
            str(change_s),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert window.stdout is not None and window.stdout.readline().strip() == "shown"
    try:
        use_throwaway_keys()  # a temporary store: no OS keyring entry, a random passphrase
        with tempfile.TemporaryDirectory(prefix="rememora-cpu-") as data:
            with Service(Path(data)) as service:
                service.load_models(llm=False, ocr=True)  # models loaded first
                recorder = service.open_recorder(display)
                process_cpu, wall = time.process_time(), time.monotonic()
                recorder.start()
                time.sleep(seconds)
                recorder.stop()
                process_share = (time.process_time() - process_cpu) / (time.monotonic() - wall)
                health = recorder.health("stopped")
    finally:
        window.terminate()
        window.wait()
    return {
        "screen": f"changing every {change_s:g} s" if change_s else "static",
        "seconds": seconds,
        "capture_thread_cpu_share": health.capture_cpu_share,
        "process_cpu_share_incl_ocr": round(process_share, 4),
        "frames": health.counters.frames,
        "kept": health.counters.kept,
        "dedup_exact": health.counters.dedup_exact,
        "dedup_similar": health.counters.dedup_similar,
        "ocr_frames": health.counters.ocr_frames,
        "ocr_ms_per_ocr_frame": round(health.counters.ocr_ms / max(health.counters.ocr_frames, 1)),
        "ocr_cpu_ms_per_ocr_frame": round(
            health.counters.ocr_cpu_ms / max(health.counters.ocr_frames, 1)
        ),
        "ocr_full_frames": health.counters.ocr_full_frames,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "capture_cpu.json")
    args = parser.parse_args()
    server, display = start_xvfb()
    try:
        results = [measure(display, 0.0, args.seconds), measure(display, 1.0, args.seconds)]
    finally:
        server.terminate()
        server.wait()
    result = {
        "display": "Xvfb 1280x800x24",
        "note": "shared 2-core machine, loaded",
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

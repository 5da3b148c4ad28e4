"""`rememora replay` on a slice of ScreenAgent: the real pipeline, write path and
retrieval, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.capture.replay import time_from_name
from tests.conftest import SHARED_BENCH, run_cli

SCREENAGENT = SHARED_BENCH / "screens" / "screenagent"


def test_time_from_screenagent_file_name() -> None:
    moment = time_from_name(Path("train/x/images/2023-12-20_19-31-31-255913.jpg"))
    assert moment is not None and moment.isoformat() == "2023-12-20T19:31:31.255913+00:00"
    assert time_from_name(Path("shot.png")) is None


def test_replay_slice_of_screenagent_reports_hits_and_costs(data_dir: Path, tmp_path: Path) -> None:
    if not SCREENAGENT.exists():
        pytest.skip("shared bench data absent")
    out = tmp_path / "replay.json"
    done = run_cli(data_dir, "replay", str(SCREENAGENT), "--sessions", "2", "--json", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    sessions = json.loads((SCREENAGENT / "index.json").read_text())[:2]
    assert report["frames"] == sum(len(s["images"]) for s in sessions)
    assert 0 < report["frames_kept"] <= report["frames"]
    assert report["queries"] == 2
    for key in (
        "hit@1",
        "hit@5",
        "ocr_ms_per_frame",
        "media_bytes_per_frame",
        "text_bytes_per_frame",
        "wall_seconds",
    ):
        assert isinstance(report[key], (int, float)), key
    assert report["hit@5"] >= 0.5  # the two prompts differ and each session shows its app
    assert report["ocr_ms_per_frame"] > 0 and report["media_bytes_per_frame"] > 0

    listed = run_cli(data_dir, "memories", "list", "--type", "episodic", "--json")
    memories = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(memories) == report["events"]


def test_replay_of_a_missing_folder_is_one_line_error(data_dir: Path, tmp_path: Path) -> None:
    done = run_cli(data_dir, "replay", str(tmp_path / "nope"), "--json", str(tmp_path / "o.json"))
    assert done.returncode == 2
    assert (
        done.stderr.strip().startswith("rememora: error:")
        and len(done.stderr.strip().splitlines()) == 1
    )
    assert not (tmp_path / "o.json").exists()

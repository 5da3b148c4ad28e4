"""Zero egress: capture (replay), ingest, consolidate, ask, export and import, each a real
CLI process under the strict network guard (no configured server, so not even loopback is
allowed), attempt no connection and no name lookup; and every dependency's telemetry is
off even when the user's environment says otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from models.offline import OFFLINE_ENV
from tests.archive_helpers import PASSPHRASE, T0, new_store
from tests.conftest import REPO, cli_env


def _strict_env(folder: Path, log: Path) -> dict[str, str]:
    env = cli_env(folder)
    env["REMEMORA_NETGUARD_LOG"] = str(log)
    env["REMEMORA_NETGUARD_ALLOW"] = ""  # no configured server: nothing at all
    env["REMEMORA_EXPORT_PASSPHRASE"] = PASSPHRASE
    for name in OFFLINE_ENV:  # the app must turn these off itself
        env[name] = "0" if name != "ANONYMIZED_TELEMETRY" else "True"
    return env


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_guard_in_strict_mode_refuses_loopback(tmp_path: Path) -> None:
    log = tmp_path / "guard.log"
    env = _strict_env(tmp_path, log)
    probe = (
        "import socket; s = socket.create_server(('127.0.0.1', 0)); "
        "socket.create_connection(s.getsockname(), timeout=5)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "NetworkBlocked" in done.stderr
    assert "127.0.0.1" in log.read_text()


@pytest.mark.llm
@pytest.mark.timeout(1800)
def test_the_whole_flow_makes_no_connection(tmp_path: Path, shared_models: Path) -> None:
    log = tmp_path / "guard.log"
    source = new_store(tmp_path, "source", shared_models)
    target = new_store(tmp_path, "target", shared_models)
    screens = tmp_path / "screens"
    screens.mkdir()
    font = ImageFont.load_default(size=28)
    for index in range(1):  # one frame: the point is the path it takes, not the volume
        image = Image.new("RGB", (640, 200), "white")
        ImageDraw.Draw(image).text(
            (20, 80), f"Flight LX{400 + index} to Zurich", fill="black", font=font
        )
        image.save(screens / f"{T0 + timedelta(minutes=index):%Y-%m-%d_%H-%M-%S}-000000.png")
    env = _strict_env(source, log)
    _run(env, "chat", "add", "--speaker", "Alice", "My sister Ana works as a nurse in Porto.")
    _run(env, "replay", str(screens))
    _run(env, "ingest")
    consolidated = _run(env, "consolidate")
    assert "undo with: rememora consolidate --undo c-" in consolidated
    answer = _run(env, "ask", "Where does Ana work?")
    assert answer.strip()
    _run(env, "export", str(tmp_path / "a.rememora"), "--passphrase")
    imported = _run(_strict_env(target, log), "import", str(tmp_path / "a.rememora"))
    assert "imported" in imported
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"network attempted:\n{attempts}"


def test_every_dependency_runs_with_telemetry_off(tmp_path: Path, shared_models: Path) -> None:
    folder = new_store(tmp_path, "store", shared_models)
    env = _strict_env(folder, tmp_path / "guard.log")
    probe = f"""
import json, os
from core.service import Service
from pathlib import Path
with Service(Path({str(folder)!r})) as s:
    s.add_chat_turn("Alice", "hello there")
    s.record_events()
    client = s.runtime.index._client
    chroma = client.get_settings()
    print(json.dumps({{
        "env": {{k: os.environ.get(k) for k in {sorted(OFFLINE_ENV)!r}}},
        "chroma_telemetry": chroma.anonymized_telemetry,
        "chroma_otel": chroma.chroma_otel_collection_endpoint,
    }}))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["env"] == OFFLINE_ENV
    assert found["chroma_telemetry"] is False and not found["chroma_otel"]
    assert not (tmp_path / "guard.log").exists() or not (tmp_path / "guard.log").read_text()

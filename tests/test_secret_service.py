"""The data key through a real Secret Service: gnome-keyring's daemon on a private D-Bus
session (`dbus-run-session`), reached by keyring's SecretService backend, as on a Linux
desktop. Skipped, saying why, where gnome-keyring or D-Bus is not installed
(packaging/debian-packages.txt lists both)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.skipif(
    shutil.which("gnome-keyring-daemon") is None or shutil.which("dbus-run-session") is None,
    reason="gnome-keyring and dbus are not installed (packaging/install-debian-packages.sh)",
)
def test_data_key_wraps_and_unwraps_through_the_secret_service(tmp_path: Path) -> None:
    store = tmp_path / "data"
    store.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), PYTHONPATH=str(REPO))
    for name in ("XDG_DATA_HOME", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME", "DBUS_SESSION_BUS_ADDRESS"):
        env.pop(name, None)
    done = subprocess.run(
        [
            "dbus-run-session",
            "--",
            sys.executable,
            str(REPO / "tests" / "secret_service_session.py"),
            str(store),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["backend"] == "keyring.backends.SecretService.Keyring"
    assert seen["opened_by"] == ["keyring", "keyring"]  # no passphrase was anywhere
    assert seen["wraps"] == ["keyring"] and seen["round_trip"] == "a frame"
    assert b"a frame" not in (store / "keys.json").read_bytes()

"""A real X server for capture tests: Xvfb on a free display, and real X clients
(Qt windows on the xcb platform, in subprocesses) that draw known text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


@pytest.fixture(scope="session")
def xvfb() -> Iterator[str]:
    """A display name (":N") served by a fresh Xvfb, 800x600, for the whole session."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (packaging/debian-packages.txt lists it)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


ShowWindow = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def show_window(xvfb: str) -> Iterator[ShowWindow]:
    """Start a real Qt window on the Xvfb display; all are closed after the test."""
    started: list[subprocess.Popen[str]] = []

    def show(
        title: str,
        text: str,
        app: str = "showtext",
        change: float = 0.0,
        geometry: str = "0,0,780,560",
    ) -> subprocess.Popen[str]:
        env = dict(os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb")
        process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "show_text.py"),
                title,
                text,
                "--app",
                app,
                "--change",
                str(change),
                "--geometry",
                geometry,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=REPO,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "shown", f"the test window did not appear ({line!r})"
        return process

    yield show
    for process in started:
        process.terminate()
        process.wait(timeout=10)

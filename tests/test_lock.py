import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import StoreLockedError
from core.service import Service
from tests.conftest import REPO, cli_env, run_cli


def test_second_service_on_same_dir_is_refused(service: Service, data_dir: Path) -> None:
    with pytest.raises(StoreLockedError) as caught:
        Service(data_dir)
    assert str(data_dir) in str(caught.value)


def test_second_process_gets_one_clear_line(service: Service, data_dir: Path) -> None:
    service.add_chat_turn("Ann", "the lock test")
    result = run_cli(data_dir, "chat", "add", "--speaker", "Bob", "should not land")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert "in use by another Rememora process" in result.stderr
    assert f"pid {__import__('os').getpid()}" in result.stderr
    assert [e.text for e in service.store.pending_events()] == ["the lock test"]


def test_lock_is_released_on_close_and_on_kill(data_dir: Path) -> None:
    Service(data_dir).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from core.service import Service; "
            f"s = Service(__import__('pathlib').Path({str(data_dir)!r})); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(data_dir),
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLockedError):
            Service(data_dir)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 5
    while True:
        try:
            Service(data_dir).close()
            break
        except StoreLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

"""Privacy by construction: no network in the whole test run, and the core loads
without Qt, torch or llama.cpp."""

import socket
import subprocess
import sys

import pytest

from tests.conftest import REPO, cli_env, netguard_log
from tests.netguard_hook import NetworkBlocked


def test_guard_refuses_remote_connections_and_allows_loopback() -> None:
    log = netguard_log()
    before = log.read_text() if log.exists() else ""
    with socket.socket() as sock, pytest.raises(NetworkBlocked):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1; refused before any packet is sent
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("huggingface.co", 443)
    assert "192.0.2.1" in log.read_text()
    log.write_text(before)  # the deliberate attempts above are not the app's
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname(), timeout=5):
        pass


def test_cli_subprocesses_are_guarded_too(tmp_path) -> None:  # type: ignore[no-untyped-def]
    probe = "import socket; socket.getaddrinfo('pypi.org', 443)"
    env = cli_env(tmp_path)
    env["REMEMORA_NETGUARD_LOG"] = str(tmp_path / "guard.log")
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "NetworkBlocked" in result.stderr
    assert "pypi.org" in (tmp_path / "guard.log").read_text()


def test_core_imports_without_qt_torch_or_llama() -> None:
    code = (
        "import sys, core.service, core.retrieval.search, core.ingest.pipeline, models.llm, models.embedder; "
        "bad = [m for m in ('PySide6', 'torch', 'llama_cpp', 'chromadb', 'sentence_transformers') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

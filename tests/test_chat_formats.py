"""`rememora import-chat` reads ChatGPT exports and LOCOMO files; a malformed file names
the field that is wrong and imports nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core.errors import InputFileError
from core.ingest.importers import read_chat_file
from tests.conftest import SHARED_BENCH, run_cli

CHATGPT = [
    {
        "title": "Trip",
        "create_time": 1714730000.0,
        "current_node": "c",
        "mapping": {
            "root": {"id": "root", "message": None, "parent": None, "children": ["a"]},
            "a": {
                "id": "a",
                "parent": "root",
                "children": ["b"],
                "message": {
                    "author": {"role": "user"},
                    "create_time": 1714730100.0,
                    "content": {"content_type": "text", "parts": ["I fly to Berlin tomorrow."]},
                },
            },
            "b": {
                "id": "b",
                "parent": "a",
                "children": ["c"],
                "message": {
                    "author": {"role": "system"},
                    "create_time": 1714730101.0,
                    "content": {"content_type": "text", "parts": ["hidden system text"]},
                },
            },
            "c": {
                "id": "c",
                "parent": "b",
                "children": [],
                "message": {
                    "author": {"role": "assistant"},
                    "create_time": 1714730160.0,
                    "content": {"content_type": "text", "parts": ["Have a good flight!"]},
                },
            },
        },
    }
]

LOCOMO = [
    {
        "sample_id": "s1",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Raj",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ann", "dia_id": "D1:1", "text": "Hi Raj!"},
                {
                    "speaker": "Raj",
                    "dia_id": "D1:2",
                    "text": "Look at my dog.",
                    "blip_caption": "a photo of a beagle",
                },
            ],
            "session_2_date_time": "9:00 am on 10 May, 2023",
            "session_2": [{"speaker": "Ann", "dia_id": "D2:1", "text": "Morning!"}],
        },
    }
]


def test_chatgpt_export_follows_the_current_branch(tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(CHATGPT))
    events = read_chat_file(path)
    assert [(e.speaker, e.text) for e in events] == [
        ("user", "I fly to Berlin tomorrow."),
        ("assistant", "Have a good flight!"),
    ]
    assert events[0].occurred_at.timestamp() == 1714730100.0


def test_locomo_sessions_in_order_with_their_times(tmp_path: Path) -> None:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(LOCOMO))
    events = read_chat_file(path)
    assert [e.text for e in events] == [
        "Hi Raj!",
        "Look at my dog. [shares a photo: a photo of a beagle]",
        "Morning!",
    ]
    assert events[0].occurred_at.isoformat() == "2023-05-08T13:56:00+00:00"
    assert events[2].occurred_at.isoformat() == "2023-05-10T09:00:00+00:00"
    assert events[1].payload == {"dia_id": "D1:2"}


@pytest.mark.skipif(not (SHARED_BENCH / "locomo").exists(), reason="shared bench data absent")
def test_real_locomo_dev_file_reads() -> None:
    events = read_chat_file(SHARED_BENCH / "locomo" / "locomo_dev.json")
    assert len(events) > 1000 and all(e.text and e.speaker for e in events)
    assert len({e.source for e in events}) == 3  # one source per conversation
    first = [e for e in events if e.source.endswith("conv-26")]
    assert first[0].occurred_at.isoformat() == "2023-05-08T13:56:00+00:00"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            lambda: [
                {
                    **LOCOMO[0],
                    "conversation": {
                        **LOCOMO[0]["conversation"],
                        "session_2_date_time": "tomorrow",
                    },
                }
            ],
            "sample [0].conversation.session_2_date_time",
        ),
        (
            lambda: [
                {
                    **LOCOMO[0],
                    "conversation": {
                        **LOCOMO[0]["conversation"],
                        "session_2": [{"speaker": "Ann", "text": ""}],
                    },
                }
            ],
            "sample [0].conversation.session_2[0].text",
        ),
        (
            lambda: [
                {
                    **CHATGPT[0],
                    "mapping": {
                        **CHATGPT[0]["mapping"],
                        "c": {
                            **CHATGPT[0]["mapping"]["c"],
                            "message": {
                                "author": {"role": "assistant"},
                                "content": {"parts": "not a list"},
                            },
                        },
                    },
                }
            ],
            "conversation [0].mapping['c'].message.content.parts",
        ),
    ],
)
def test_malformed_file_names_field_and_imports_nothing(
    data_dir: Path, tmp_path: Path, document: object, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document()))  # type: ignore[operator]
    with pytest.raises(InputFileError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        read_chat_file(path)
    result = run_cli(data_dir, "import-chat", str(path))
    assert result.returncode == 2 and expected in result.stderr
    assert (
        sqlite3.connect(data_dir / "ledger.sqlite3")
        .execute("SELECT COUNT(*) FROM events")
        .fetchone()[0]
        == 0
    )


def test_cli_imports_chatgpt_export(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(CHATGPT))
    result = run_cli(data_dir, "import-chat", str(path))
    assert result.returncode == 0, result.stderr
    assert "imported 2 chat turns" in result.stdout

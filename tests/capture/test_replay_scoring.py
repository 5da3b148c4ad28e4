"""Replay scoring as an evaluation client of the Service: a folder of two sessions'
screenshots (drawn text, read by the real OCR) fed by ``Service.replay``, each session's
prompt asked through the real retrieval path, and the source frame of each hit found by
the ``Service.source_frame`` verb."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.service import Service
from evaluation.replay import replay_and_score

SESSIONS = {
    "registry": ("Open Registry Editor", "Registry Editor HKEY_LOCAL_MACHINE Software keys"),
    "writer": ("Open LibreOffice Writer", "LibreOffice Writer blank document Untitled"),
}


def _screenshot(path: Path, text: str) -> None:
    image = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(image).text((20, 80), text, fill="black", font=ImageFont.load_default(size=24))
    image.save(path)


def _folder(root: Path) -> Path:
    index = []
    for number, (session, (prompt, shown)) in enumerate(SESSIONS.items()):
        images = [f"{session}/2024-01-0{number + 1}_10-00-00.png"]
        (root / session).mkdir(parents=True)
        _screenshot(root / images[0], shown)
        index.append({"session_id": session, "task_prompt_en": prompt, "images": images})
    (root / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return root


def test_each_session_prompt_finds_a_frame_of_its_own_session(
    service: Service, tmp_path: Path
) -> None:
    folder = _folder(tmp_path / "screens")
    scored = replay_and_score(service, folder)
    assert scored.replay.frames == 2 and scored.replay.events == 2
    assert [s.session_id for s in scored.sessions] == list(SESSIONS)
    assert all(s.rank == 0 for s in scored.sessions), scored.sessions
    data = scored.to_json()
    assert (data["queries"], data["hit@1"], data["hit@5"]) == (2, 1.0, 1.0)
    assert list(data)[-4:] == ["queries", "hit@1", "hit@5", "per_session"]

    hits = service.search("Registry Editor")
    assert service.source_frame(hits[0]) == str(folder / "registry/2024-01-01_10-00-00.png")
    service.add_chat_turn("Alice", "I like green tea in the morning.")
    service.record_events()
    (tea,) = [h for h in service.search("green tea") if "tea" in h.memory.text]
    assert service.source_frame(tea) is None  # a chat turn has no screenshot


def test_a_folder_without_an_index_is_fed_but_not_scored(service: Service, tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    _screenshot(folder / "2024-01-05_09-30-00.png", "Quarterly report draft")
    scored = replay_and_score(service, folder)
    assert scored.sessions == () and scored.replay.frames == 1
    assert "queries" not in scored.to_json() and "per_session" not in scored.to_json()

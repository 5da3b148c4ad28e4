"""The user is one speaker, however a source spells it ("user", "me", a name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import SettingsError
from core.identity import Identity
from core.service import Service
from core.settings import load_settings


def test_every_spelling_of_the_user_is_one_speaker_and_the_written_one_is_kept(
    data_dir: Path, embedder: object
) -> None:
    settings = data_dir / "settings.toml"
    settings.write_text(
        settings.read_text() + '\n[user]\nname = "Dana Whitfield"\naliases = ["D"]\n'
    )
    with Service(data_dir, embedder=embedder) as service:  # type: ignore[arg-type]
        ids = [
            service.add_chat_turn("me", "I keep my bike in the hallway."),
            service.add_chat_turn("dana  whitfield", "My sister lives in Porto."),
            service.add_chat_turn("D", "Reminder: dentist on the 14th."),
            service.add_chat_turn("Ravi", "I moved to Leeds."),
        ]
        events = service.events(ids)
        assert [e.speaker for e in events] == ["user", "user", "user", "Ravi"]
        assert [e.payload.get("speaker_as_written") for e in events] == [
            "me",
            "dana  whitfield",
            "D",
            None,
        ]
        service.record_events()
        hits = service.search("Where do I keep my bike?")
        assert hits and "bike" in hits[0].memory.text


def test_identity_rules() -> None:
    nobody = Identity()
    assert nobody.canonical("Me") == "user" and nobody.canonical("assistant") == "assistant"
    assert nobody.canonical(None) is None and nobody.display_name == "the user"
    named = Identity(name="Ana")
    assert named.is_user("ANA") and not named.is_user("Anabel")
    assert named.display_name == "Ana"


def test_a_bad_alias_is_refused_with_its_key(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('[user]\naliases = ["  "]\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    assert "user.aliases" in str(caught.value)

"""Who the user is: one speaker, however the sources spell it.

A chat export says "user", a hand-typed line says "me", a messenger export says the
person's name. The store keeps one speaker for all of them, ``user``, so a question in the
first person finds every turn the user wrote, core statements are about that person, and
other people's facts stay theirs. The name and any other aliases come from settings
(``[user] name``, ``[user] aliases``); the written spelling is kept in the event's payload
(``speaker_as_written``), so nothing the user captured is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from core.records import NewEvent

USER_SPEAKER = "user"
# First-person words and the roles chat exports use for the person at the keyboard.
_BUILT_IN_ALIASES = frozenset({"user", "me", "i", "myself", "human"})


def _fold(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass(frozen=True)
class Identity:
    """The user's name (may be empty) and every spelling that means the user."""

    name: str = ""
    aliases: tuple[str, ...] = ()

    @cached_property
    def _folded(self) -> frozenset[str]:
        """Every spelling of the user, folded; computed once, not for every event."""
        extra = [self.name, *self.aliases]
        return _BUILT_IN_ALIASES | {_fold(a) for a in extra if a.strip()}

    def is_user(self, speaker: str | None) -> bool:
        return speaker is not None and _fold(speaker) in self._folded

    def canonical(self, speaker: str | None) -> str | None:
        """``user`` for any spelling of the user; other speakers unchanged."""
        if speaker is None:
            return None
        return USER_SPEAKER if self.is_user(speaker) else speaker

    @property
    def display_name(self) -> str:
        """How prompts and summaries refer to the user."""
        return self.name.strip() or "the user"

    def canonical_events(self, events: Iterable[NewEvent]) -> list[NewEvent]:
        """The events with the user's speaker made canonical; the written spelling goes to
        ``payload["speaker_as_written"]`` when it differs."""
        out: list[NewEvent] = []
        for event in events:
            speaker = self.canonical(event.speaker)
            if speaker == event.speaker:
                out.append(event)
                continue
            payload = {**event.payload, "speaker_as_written": event.speaker or ""}
            out.append(replace(event, speaker=speaker, payload=payload))
        return out


def identity_from(name: str, aliases: Sequence[str]) -> Identity:
    return Identity(name=name.strip(), aliases=tuple(a.strip() for a in aliases if a.strip()))

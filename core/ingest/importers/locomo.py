"""LOCOMO-format files: samples whose ``conversation`` holds ``session_N`` turn lists and
``session_N_date_time`` stamps; turns of a session are 30 s apart from its start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import InputFileError
from core.ingest.importers._common import check_turn
from core.ingest.importers._common import field_error as _fail
from core.records import EventKind, NewEvent

LOCOMO_TIME = "%I:%M %p on %d %B, %Y"
LOCOMO_TURN_STEP = timedelta(seconds=30)


def read_locomo(path: Path, samples: list[Any]) -> list[NewEvent]:
    events: list[NewEvent] = []
    for number, sample in enumerate(samples):
        where = f"sample [{number}].conversation"
        conversation = sample.get("conversation") if isinstance(sample, dict) else None
        if not isinstance(conversation, dict):
            raise _fail(path, where, "must be an object")
        sessions = sorted(
            (int(k.split("_")[1]), k)
            for k in conversation
            if k.startswith("session_")
            and len(k.split("_")) == 2
            and k.split("_")[1].isdecimal()
            and len(k) <= 16
        )
        label = str(sample.get("sample_id", number))[:100]
        for _, key in sessions:
            turns = conversation[key]
            stamp = conversation.get(f"{key}_date_time")
            try:
                start = datetime.strptime(str(stamp), LOCOMO_TIME).replace(tzinfo=UTC)
            except ValueError:
                raise _fail(
                    path,
                    f"{where}.{key}_date_time",
                    f"expected a time like '1:56 pm on 8 May, 2023', got {stamp!r}",
                ) from None
            if not isinstance(turns, list):
                raise _fail(path, f"{where}.{key}", "must be a list of turns")
            for index, turn in enumerate(turns):
                turn_where = f"{where}.{key}[{index}]"
                if not isinstance(turn, dict):
                    raise _fail(path, turn_where, "must be an object")
                for field in ("speaker", "text"):
                    if not isinstance(turn.get(field), str) or not turn[field].strip():
                        raise _fail(path, f"{turn_where}.{field}", "must be a non-empty string")
                text = turn["text"].strip()
                if isinstance(turn.get("blip_caption"), str):
                    text += f" [shares a photo: {turn['blip_caption']}]"
                check_turn(path, turn_where, turn["speaker"].strip(), text, len(events))
                try:
                    when = start + index * LOCOMO_TURN_STEP
                except OverflowError:
                    raise _fail(
                        path, turn_where, "its time is past the end of the calendar"
                    ) from None
                events.append(
                    NewEvent(
                        EventKind.IMPORT,
                        text,
                        when,
                        turn["speaker"].strip(),
                        source=f"import:{path.name}:{label}",
                        payload={"dia_id": str(turn.get("dia_id", ""))[:100]},
                    )
                )
    if not events:
        raise InputFileError(path, "holds no chat turns")
    return events

"""The labelled write-path set in bench/snippets_v2/*.jsonl and its fixed split.

Each line is one snippet: ``id``; ``t`` (the first turn's time, ISO 8601); ``turns`` as
``[speaker, text]`` (a turn one minute after the one before) or ``[speaker, text, time]``;
``types`` (the memory types it should be routed to; the raw episodic record every event
gets is not counted); ``facts`` as ``[type, [keywords]]`` (a candidate of that type whose
text, fields or vault value hold every keyword matches); optional ``vault`` (values that
must end up in the vault, never in clear text), ``steps`` (keywords of a procedure's
steps, in order) and ``supersede`` (``[attribute, old keyword, new keyword]``: the later
turn replaces the earlier fact).

The split is fixed by a hash of the id (sha256, first byte below 154 of 256: about 60%
tune, 40% test) and written to bench/snippets_v2/split.json before any tuning; figures
are reported on the test part only.

    PYTHONPATH=$PWD python bench/labelled_set.py   # checks split.json matches the rule
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "snippets_v2"
SPLIT_FILE = FOLDER / "split.json"
TUNE_BELOW = 154  # of 256: the first sha256 byte of the id decides the part


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    time: datetime


@dataclass(frozen=True)
class Snippet:
    id: str
    turns: tuple[Turn, ...]
    types: frozenset[str]
    facts: tuple[tuple[str, tuple[str, ...]], ...]
    vault: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    supersede: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        return "\n".join(t.text for t in self.turns)


def part_of(snippet_id: str) -> str:
    return "tune" if hashlib.sha256(snippet_id.encode()).digest()[0] < TUNE_BELOW else "test"


def _snippet(row: dict[str, object]) -> Snippet:
    start = datetime.fromisoformat(str(row["t"]))
    turns = []
    for i, turn in enumerate(row["turns"]):  # type: ignore[attr-defined]
        when = datetime.fromisoformat(turn[2]) if len(turn) > 2 else start + timedelta(minutes=i)
        turns.append(Turn(turn[0], turn[1], when))
    return Snippet(
        str(row["id"]),
        tuple(turns),
        frozenset(row["types"]),  # type: ignore[arg-type]
        tuple((f[0], tuple(f[1])) for f in row["facts"]),  # type: ignore[attr-defined]
        tuple(row.get("vault", ())),  # type: ignore[call-overload]
        tuple(row.get("steps", ())),  # type: ignore[call-overload]
        tuple(tuple(s) for s in row.get("supersede", ())),  # type: ignore[attr-defined]
    )


def load_all() -> list[Snippet]:
    snippets = []
    for path in sorted(FOLDER.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                snippets.append(_snippet(json.loads(line)))
    return snippets


def load(part: str) -> list[Snippet]:
    """The snippets of one part ("tune" or "test"), as split.json fixes them."""
    ids = set(json.loads(SPLIT_FILE.read_text())[part])
    return [s for s in load_all() if s.id in ids]


def write_split() -> dict[str, list[str]]:
    parts: dict[str, list[str]] = {"tune": [], "test": []}
    for snippet in load_all():
        parts[part_of(snippet.id)].append(snippet.id)
    return parts


if __name__ == "__main__":
    computed = write_split()
    if not SPLIT_FILE.exists():
        SPLIT_FILE.write_text(json.dumps(computed, indent=1) + "\n")
    assert json.loads(SPLIT_FILE.read_text()) == computed, "split.json differs from the rule"
    print({k: len(v) for k, v in computed.items()})

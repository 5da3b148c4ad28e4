"""The reader's structured reply: the JSON schema its grammar enforces, and the checks
that turn what the model wrote into an answer a person can use.

The model answers ``{"supported": bool, "answer": str, "cited": [numbers]}``, in that
order: it first judges whether the memories hold the answer (when they do not, generation
stops there and the answer is "not mentioned"), then writes the answer, which
:class:`AnswerStream` passes on as it is generated, then names its memories. Whatever it
wrote, :func:`read_reply` returns a short answer text with citations kept apart, or an
honest "not mentioned": a bare citation, an empty answer, a refusal worded as an answer
and an unparsable reply all become not supported. A model without grammar support (a
server) answers freely; its text is read the same way, citations in square brackets
moved out of the text.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.records import MemoryId

NOT_MENTIONED = "Not mentioned in your memories."
MAX_CITED = 4
# the answer is short; past this many characters it is cut after its first sentence
LONG_ANSWER = 160

_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_ANSWER_FIELD = re.compile(r'"answer"\s*:\s*"((?:[^"\\]|\\.)*)"?')
_CITED_FIELD = re.compile(r'"cited"\s*:\s*\[([\d,\s]*)')
_SUPPORTED_FIELD = re.compile(r'"supported"\s*:\s*(true|false)')
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# an answer that says there is no answer (the model's own words for "not supported")
_REFUSAL = re.compile(
    r"^(?:(?:i\s+)?(?:do not|don't|cannot|can't)\s+(?:know|remember|find|tell|say)\b"
    r"|(?:there is\s+)?no (?:information|memory|memories|mention|record)\b"
    r"|not (?:mentioned|stated|specified|available|known)\b)",
    re.I,
)


def reply_schema(memories: int) -> dict[str, Any]:
    """The JSON schema of a reply about ``memories`` numbered memories: ``cited`` can only
    hold their numbers."""
    numbers: dict[str, Any] = (
        {"type": "integer", "enum": list(range(1, memories + 1))}
        if memories
        else {"type": "integer"}
    )
    return {
        "type": "object",
        "properties": {
            "supported": {"type": "boolean"},
            "answer": {"type": "string"},
            "cited": {"type": "array", "items": numbers, "maxItems": MAX_CITED},
        },
        "required": ["supported", "answer", "cited"],
    }


@dataclass(frozen=True)
class Reply:
    """What the reader said: ``text`` is the answer alone (or :data:`NOT_MENTIONED`),
    ``cited`` the memories it rests on, by id, in citation order."""

    text: str
    cited: tuple[MemoryId, ...]
    supported: bool


NOT_SUPPORTED = Reply(NOT_MENTIONED, (), False)


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def _fields(raw: str) -> tuple[str, list[int], bool | None] | None:
    """The reply's answer, cited numbers and support flag; a reply cut short (the token
    budget ran out) gives what it holds; None when there is no answer field at all."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("answer"), str):
        cited = data.get("cited")
        numbers = [n for n in cited if isinstance(n, int)] if isinstance(cited, list) else []
        supported = data.get("supported")
        return data["answer"], numbers, supported if isinstance(supported, bool) else None
    if match := _ANSWER_FIELD.search(raw):
        try:
            text = json.loads(f'"{match.group(1)}"')
        except ValueError:
            text = match.group(1)
        cited_match = _CITED_FIELD.search(raw)
        supported_match = _SUPPORTED_FIELD.search(raw)
        return (
            str(text),
            _numbers(cited_match.group(1)) if cited_match else [],
            supported_match.group(1) == "true" if supported_match else None,
        )
    return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > LONG_ANSWER:
        text = _SENTENCE_END.split(text, maxsplit=1)[0]
    return text


def read_reply(raw: str, aliases: Sequence[MemoryId]) -> Reply:
    """The answer in ``raw`` (the model's JSON, or free text from a model without a
    grammar), its citations mapped from the prompt's numbers to ``aliases``."""
    raw = raw.strip()
    numbers: list[int]
    supported: bool | None
    if not raw.startswith("{"):  # free text: the old reply shape, "answer [1][2]"
        text, numbers, supported = raw, [], None
    elif fields := _fields(raw):
        text, numbers, supported = fields
    else:  # JSON with no answer in it (cut short, or stopped at "supported": false)
        return NOT_SUPPORTED
    numbers += [int(n) for group in _CITATION.findall(text) for n in group.split(",")]
    text = _short(_CITATION.sub("", text).strip())
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    if supported is False or not _HAS_WORD.search(text) or _REFUSAL.match(text):
        return NOT_SUPPORTED
    cited: dict[MemoryId, None] = {}
    for number in numbers:
        if 1 <= number <= len(aliases):
            cited[aliases[number - 1]] = None
    return Reply(text, tuple(cited)[:MAX_CITED], True)


_SUPPORT_DECIDED = re.compile(r'^\s*\{\s*"supported"\s*:\s*(true|false)')
_ANSWER_OPENS = re.compile(r'"answer"\s*:\s*"')
_ESCAPES = {"n": " ", "t": " ", "r": " ", "b": "", "f": "", "/": "/", "\\": "\\", '"': '"'}


class AnswerStream:
    """Reads the reply as it is generated and passes on the answer field's text: nothing
    before ``supported`` is decided, the decoded characters of ``answer`` (a citation in
    square brackets held back and dropped) as they come. ``feed`` returns the text to
    show now and whether the generation can stop (the memories do not hold the answer).
    A reply that does not open as JSON (a model without a grammar) is passed on as is."""

    def __init__(self) -> None:
        self.raw = ""
        self.shown = ""
        self._at = -1  # where the answer string's next character is in raw; -1: not open
        self._closed = False
        self._held = ""  # an open "[" and what followed it
        self._free: bool | None = None  # a free-text reply (no JSON)

    def feed(self, piece: str) -> tuple[str, bool]:
        self.raw += piece
        if self._free is None and self.raw.strip():
            self._free = not self.raw.lstrip().startswith("{")
        if self._free:
            return self._show(piece), False
        if self._free is None:
            return "", False
        if self._at < 0:
            decided = _SUPPORT_DECIDED.match(self.raw)
            if decided and decided.group(1) == "false":
                return "", True
            opened = _ANSWER_OPENS.search(self.raw)
            if not (decided and opened):
                return "", False
            self._at = opened.end()
        out = []
        while not self._closed and self._at < len(self.raw):
            char = self.raw[self._at]
            if char == '"':
                self._closed = True
                break
            if char == "\\":
                if self._at + 1 >= len(self.raw):
                    break  # the escape's second character is still to come
                code = self.raw[self._at + 1]
                if code == "u":
                    if self._at + 6 > len(self.raw):
                        break
                    with contextlib.suppress(ValueError):
                        out.append(chr(int(self.raw[self._at + 2 : self._at + 6], 16)))
                    self._at += 6
                    continue
                out.append(_ESCAPES.get(code, code))
                self._at += 2
                continue
            out.append(char)
            self._at += 1
        return self._show("".join(out)), False

    def _show(self, text: str) -> str:
        """``text`` less any citation: from an open bracket on, hold back until it closes;
        drop it when it held only numbers."""
        shown = []
        for char in text:
            if self._held:
                self._held += char
                if char == "]":
                    if not re.fullmatch(r"\[[\d,\s]*\]", self._held):
                        shown.append(self._held)
                    self._held = ""
                elif not (char.isdigit() or char in ", "):
                    shown.append(self._held)
                    self._held = ""
            elif char == "[":
                self._held = char
            else:
                shown.append(char)
        result = "".join(shown)
        if not self.shown:
            result = result.lstrip()
        self.shown += result
        return result

"""Sensitive values no pattern knows (door codes, wifi keys, membership numbers).

Two parts, neither of which knows any wording: the learned router's vault head says a
sentence holds something private (a probability over its embedding), and the shape of a
token says which word is the value. A value is shaped like a code: it has a digit and at
least four characters, or mixes letters with digits or symbols inside one word (a
passphrase such as ``otter7mango``), or is a run of digit groups (``6301 2294 7781``).
Times, dates, years, amounts, ordinals, file names, links and paths are not values (they
are other memories' business). The label is the few words before the value, which is what
a person would call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\S+")
_EDGE = "\"'()[]{}<>,.;:!?"
_NOT_VALUE = re.compile(
    r"^(?:\d{1,2}(?::\d\d)+(?:am|pm)?|\d{1,2}(?:am|pm)|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|\d{4}-\d\d-\d\d|(?:19|20)\d\d|\d+(?:st|nd|rd|th)|[$€£]\d[\d.,]*|\d[\d.,]*[$€£%]"
    r"|\d+(?:km|kg|g|m|cm|mm|l|ml|min|h|s|x|k)|v?\d+(?:\.\d+)+)$",
    re.IGNORECASE,
)
_FILE_OR_LINK = re.compile(r"(?:/|\\|://|^www\.|\.[a-z]{2,4}$)", re.IGNORECASE)
_GROUP = re.compile(r"^\+?\d{1,6}$|^[A-Z]{1,3}$")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "is",
        "are",
        "was",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "its",
        "for",
        "of",
        "to",
        "at",
        "in",
        "on",
        "and",
        "or",
        "with",
        "it",
        "this",
        "that",
        "these",
        "those",
        "i",
        "me",
        "we",
        "you",
        "they",
        "he",
        "she",
        "be",
        "been",
        "after",
        "before",
        "then",
        "just",
        "now",
        "always",
        "every",
        "so",
    ]
)


@dataclass(frozen=True)
class SecretValue:
    value: str
    label: str
    vault_type: str


def _clean(token: str) -> str:
    return token.strip(_EDGE)


def _shaped(word: str) -> bool:
    if len(word) < 4 or _NOT_VALUE.match(word) or _FILE_OR_LINK.search(word):
        return False
    digits = sum(c.isdigit() for c in word)
    letters = sum(c.isalpha() for c in word)
    symbols = len(word) - digits - letters
    if digits and not letters:
        return digits >= 4 or (digits >= 3 and symbols > 0)
    if digits and letters:
        return True
    return letters >= 6 and symbols > 0 and any(c.isupper() for c in word[1:])


def _kind(label: str) -> str:
    words = set(label.lower().split())
    if words & {
        "password",
        "passphrase",
        "pw",
        "pwd",
        "key",
        "code",
        "pin",
        "combination",
        "passcode",
        "keypad",
        "disarms",
        "opens",
        "login",
        "wifi",
        "hotspot",
    }:
        return "credential"
    if words & {"mobile", "phone", "number"} and "card" not in words:
        return "phone" if words & {"mobile", "phone"} else "id_number"
    return "id_number"


def find_values(sentence: str) -> list[SecretValue]:
    """The code-shaped values in one sentence, each with the words that name it."""
    tokens = [(m.start(), m.end(), _clean(m.group())) for m in _TOKEN.finditer(sentence)]
    found: list[SecretValue] = []
    i = 0
    while i < len(tokens):
        start, end, word = tokens[i]
        j = i
        # a run of digit groups (and short capital groups) reads as one number
        if _GROUP.match(word) or (word.isdigit() and len(word) <= 6):
            while j + 1 < len(tokens) and _GROUP.match(tokens[j + 1][2]):
                j += 1
        if j > i:
            run = sentence[start : tokens[j][1]].strip(_EDGE)
            if sum(c.isdigit() for c in run) >= 6:
                found.append(_named(sentence, start, run))
                i = j + 1
                continue
        if _shaped(word):
            found.append(_named(sentence, start, word))
        i += 1
    return found


def _named(sentence: str, start: int, value: str) -> SecretValue:
    before = [w for w in re.findall(r"[A-Za-z][\w'-]*", sentence[:start]) if w.lower() not in _STOP]
    label = " ".join(before[-4:]).lower() or "private value"
    return SecretValue(value, label, _kind(label))

"""Vault values kept out of memory text even when the model rewrites them.

A small model that files "12 Oak St." in the vault may still write "lives at 12 oak
street" in an episode, or a card number with its digits grouped another way. Exact
string replacement misses those. Here both the value and the text are compared in a
normal form:

- words are the runs of letters and digits; case, spacing and punctuation do not count
  ("DE44 5001-0517" and "de4450010517" are the same), nor does how digits are grouped;
- common address abbreviations are read as their words ("St." = "street", "Ave" =
  "avenue", "Apt" = "apartment", …).

A value spelled verbatim is masked wherever it appears; in another spelling, a match must
start and end on word boundaries of the text (a door code "4821" written "48 21" is
found, "12 Oak St." is not found inside "112 Oak Street"), and only for values of at
least ``MIN_CHARS`` characters in normal form (so "12" does not mask every twelve). What
matched is replaced, in its original spelling, by :data:`core.store.vault.MASK`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.store.vault import MASK

MIN_CHARS = 4
_TOKEN = re.compile(r"[^\W_]+")
ABBREVIATIONS = {
    "st": "street",
    "str": "street",
    "ave": "avenue",
    "av": "avenue",
    "rd": "road",
    "ln": "lane",
    "dr": "drive",
    "blvd": "boulevard",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "hwy": "highway",
    "pkwy": "parkway",
    "ter": "terrace",
    "apt": "apartment",
    "ste": "suite",
    "fl": "floor",
    "bldg": "building",
    "no": "number",
    "nr": "number",
}


@dataclass(frozen=True)
class _Normal:
    """A text in normal form: ``chars`` and, for each, the span of the token it came
    from in the original text; ``starts``/``ends`` are token boundaries in ``chars``."""

    chars: str
    spans: tuple[tuple[int, int], ...]
    starts: frozenset[int]
    ends: frozenset[int]


def _normal(text: str) -> _Normal:
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    starts, ends = set(), set()
    for match in _TOKEN.finditer(text):
        word = match.group(0).lower()
        word = ABBREVIATIONS.get(word, word)
        starts.add(len(chars))
        chars.extend(word)
        spans.extend([match.span()] * len(word))
        ends.add(len(chars))
    return _Normal("".join(chars), tuple(spans), frozenset(starts), frozenset(ends))


def normal_form(value: str) -> str:
    """The value as it is compared: ``"12 Oak St."`` -> ``"12oakstreet"``."""
    return _normal(value).chars


def _spans(text: str, value: str) -> list[tuple[int, int]]:
    """Where ``value`` is spelled in ``text`` (verbatim anywhere, or in normal form on
    word boundaries), as (start, end) in ``text``, without overlaps, left to right."""
    found: list[tuple[int, int]] = []
    if value:
        found += [(m.start(), m.end()) for m in re.finditer(re.escape(value), text)]
    needle = normal_form(value)
    if len(needle) >= MIN_CHARS:
        normal = _normal(text)
        at = normal.chars.find(needle)
        while at != -1:
            end = at + len(needle)
            if at in normal.starts and end in normal.ends:
                found.append((normal.spans[at][0], normal.spans[end - 1][1]))
            at = normal.chars.find(needle, at + 1)
    kept: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda span: (span[0], -span[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def find_variants(text: str, value: str) -> list[str]:
    """The substrings of ``text`` that spell ``value`` in some form, in their original
    spelling, without repeats."""
    return list(dict.fromkeys(text[start:end] for start, end in _spans(text, value)))


def mask_values(text: str, values: Iterable[str]) -> str:
    """``text`` with every spelling of every value replaced by the mask."""
    for value in sorted(set(values), key=len, reverse=True):
        for start, end in reversed(_spans(text, value)):
            text = text[:start] + MASK + text[end:]
    return text


def holds_value(text: str, values: Sequence[str]) -> bool:
    """Whether ``text`` holds any spelling of any value (for checks and tests)."""
    return any(find_variants(text, value) for value in values)

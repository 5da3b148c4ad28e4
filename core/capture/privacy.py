"""The privacy gate: which windows are never captured, and redaction of secrets and
personal data in OCR text before anything reaches the ledger.

The deny list is plain settings (apps by WM_CLASS or process name, titles by regular
expression), so it works before an app has ever been seen. Every visible window is
checked, not only the focused one: a password manager beside the browser must not end up
in a screenshot. A frame whose focused window matches is dropped; a matching window in
the background is painted over (its whole box, decorations included) before the frame
is hashed, stored or read, so Rememora's own window or a password manager left open does
not stop capture of the rest of the screen. A matching window whose box is unknown drops
the frame.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from core.settings import CaptureSettings


@dataclass(frozen=True)
class WindowInfo:
    app: str
    title: str
    url: str = ""
    box: tuple[int, int, int, int] | None = None  # x, y, width, height on the screen


class PrivacyGate:
    def __init__(self, deny_apps: Iterable[str], deny_titles: Iterable[str]) -> None:
        self._apps = {a.strip().lower() for a in deny_apps if a.strip()}
        self._titles = [re.compile(p, re.IGNORECASE) for p in deny_titles]

    @classmethod
    def from_settings(cls, settings: CaptureSettings) -> PrivacyGate:
        return cls(settings.deny_apps, settings.deny_titles)

    def denies(self, window: WindowInfo) -> str | None:
        """Why ``window`` must not be captured, or None when it may be."""
        app = window.app.strip().lower()
        if app and app in self._apps:
            return f"app {window.app!r} is on the deny list"
        for pattern in self._titles:
            if pattern.search(window.title) or (window.url and pattern.search(window.url)):
                return f"title matches {pattern.pattern!r}"
        return None

    def screen_verdict(
        self,
        active: WindowInfo,
        visible: Iterable[WindowInfo],
    ) -> tuple[str | None, list[tuple[int, int, int, int]]]:
        """Why the whole frame must be dropped (None: it may be kept), and the boxes of
        denied background windows to paint over before anything else sees the frame."""
        reason = self.denies(active)
        if reason:
            return reason, []
        boxes = []
        for window in visible:
            reason = self.denies(window)
            if reason is None:
                continue
            if window.box is None:
                return f"{reason} (its position is unknown)", []
            boxes.append(window.box)
        return None, boxes


# -- redaction ------------------------------------------------------------------------

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
_PASSWORD = re.compile(r"(?i)\b(pass(?:word|wd|phrase)?|pwd|secret|pin)\s*[:=]\s*\S+")
_API_KEY = re.compile(
    r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abprs]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{30,}"
    r"|glpat-[A-Za-z0-9_\-]{16,}|hf_[A-Za-z0-9]{20,}|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
)
_TOKEN_ASSIGN = re.compile(
    r"(?i)\b((?:api[_\-]?key|access[_\-]?key|secret[_\-]?key|auth[_\-]?token|token|bearer))(\s*[:=]?\s*)"
    r"([A-Za-z0-9_\-./+]{16,})"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\d])(?:\d[ \-]?){12,18}\d(?![\d])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}(?:[ .\-]\d{2,4}){1,4}(?![\w])"
)


_DATE_LIKE = re.compile(r"\d{4}([.\-])\d{1,2}\1\d{1,2}|\d{1,2}([.\-])\d{1,2}\2\d{4}")


def _phone_like(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    return 8 <= digits <= 15 and not _DATE_LIKE.match(candidate.lstrip("+( "))


def _card_like(candidate: str) -> bool:
    digits = "".join(c for c in candidate if c.isdigit())
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


@dataclass
class Redaction:
    text: str
    counts: Counter[str]


def redact(text: str, emails: bool = True, phones: bool = True) -> Redaction:
    """Replace secrets and personal data with ``[KIND]`` markers; count what was hidden.
    Secrets (keys, tokens, passwords, card numbers, IBANs) always go; emails and phone
    numbers unless the settings keep them (``capture.redact_emails`` / ``redact_phones``)."""
    counts: Counter[str] = Counter()

    def sub(
        pattern: re.Pattern[str],
        label: str,
        source: str,
        keep_group: int | None = None,
        check: object = None,
    ) -> str:
        def replace(match: re.Match[str]) -> str:
            if check is not None and not check(match.group(0)):  # type: ignore[operator]
                return match.group(0)
            counts[label] += 1
            prefix = match.group(1) + match.group(2) if keep_group else ""
            return f"{prefix}[{label}]"

        return pattern.sub(replace, source)

    text = sub(_PRIVATE_KEY, "PRIVATE KEY", text)
    text = _PASSWORD.sub(
        lambda m: (counts.update(["PASSWORD"]), f"{m.group(1)}: [PASSWORD]")[1], text
    )
    text = sub(_API_KEY, "API KEY", text)
    text = sub(_TOKEN_ASSIGN, "TOKEN", text, keep_group=3)
    text = sub(_IBAN, "IBAN", text, check=_iban_valid)
    if emails:
        text = sub(_EMAIL, "EMAIL", text)
    text = sub(_CARD, "CARD NUMBER", text, check=_card_like)
    if phones:
        text = sub(_PHONE, "PHONE", text, check=_phone_like)
    return Redaction(text, counts)

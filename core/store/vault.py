"""Knowledge-vault values encrypted at rest.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under
a key kept in ``<data dir>/vault.key`` with 0600 permissions; the ledger stores only the
token. What is embedded and searched is the entry's label, never its value. (Key storage
is hardened in the security work; this is the at-rest baseline.) A value is decrypted for
an answer only when the question names its entry (`question_names_entry`).

A cheap pattern detector also flags vault-looking text (street addresses, IBANs, card
numbers, "password is …"), so a weak model cannot leak those into plain memories.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.errors import StoreError

KEY_FILE = "vault.key"
VAULT_TYPES = ("address", "account_number", "credential", "phone", "email", "id_number", "other")
SENSITIVITY = ("low", "medium", "high")
MASK = "[in vault]"


class VaultCipher:
    def __init__(self, data_dir: Path) -> None:
        self.key_path = data_dir / KEY_FILE
        self._fernet = Fernet(self._load_or_create_key())

    def _load_or_create_key(self) -> bytes:
        if not self.key_path.exists():
            key = Fernet.generate_key()
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
                handle.flush()
                os.fsync(handle.fileno())
            return key
        mode = self.key_path.stat().st_mode & 0o777
        if mode & 0o077:
            raise StoreError(
                f"{self.key_path} is readable by others (mode {mode:o}); run `chmod 600` on it"
            )
        return self.key_path.read_bytes().strip()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise StoreError(f"a vault value cannot be decrypted with {self.key_path}") from None


@dataclass(frozen=True)
class VaultMatch:
    value: str
    vault_type: str
    label: str
    sensitivity: str


_STREET = (
    r"street|st\.?|avenue|ave\.?|road|rd\.?|lane|ln\.?|drive|dr\.?|boulevard|blvd\.?|"
    r"way|court|ct\.?|place|pl\.?|terrace|square"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str, str, str], ...] = (
    (
        re.compile(
            rf"\b\d{{1,5}}[A-Za-z]? (?:[A-Z][\w'-]* ){{1,3}}(?i:{_STREET})(?:,? [A-Z][\w'-]+){{0,3}}"
        ),
        "address",
        "street address",
        "medium",
    ),
    (
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?\b"),
        "account_number",
        "IBAN",
        "high",
    ),
    (re.compile(r"\b(?:\d{4}[ -]){3}\d{4}\b"), "account_number", "card number", "high"),
    (
        re.compile(
            r"\b(?:password|passcode|pin|pwd)(?: for [\w .'-]{1,30}?)?(?: is|:)\s*(\S+)",
            re.IGNORECASE,
        ),
        "credential",
        "password",
        "high",
    ),
    (
        re.compile(r"\baccount (?:number|no\.?|#)(?: is|:)?\s*([\d -]{6,24}\d)", re.IGNORECASE),
        "account_number",
        "account number",
        "high",
    ),
)


def detect_vault_items(text: str) -> list[VaultMatch]:
    """Vault-looking values in ``text`` (the value itself, verbatim)."""
    found: list[VaultMatch] = []
    for pattern, vault_type, label, sensitivity in _PATTERNS:
        for match in pattern.finditer(text):
            value = (match.group(1) if match.groups() else match.group(0)).strip(" .,;")
            if value and all(value not in f.value for f in found):
                found.append(VaultMatch(value, vault_type, label, sensitivity))
    return found


_WORD = re.compile(r"[a-z0-9]+")
# words that name no particular entry ("what number of cats", "my ID"): never enough alone
_GENERIC = frozenset(
    [
        "number",
        "no",
        "id",
        "my",
        "the",
        "a",
        "an",
        "of",
        "for",
        "to",
        "is",
        "s",
        "me",
        "i",
        "your",
        "our",
    ]
)


def _entry_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower().replace("'s", "")) if w not in _GENERIC}


def question_names_entry(question: str, label: str, vault_type: str) -> bool:
    """Whether ``question`` asks for this vault entry: it shares a specific word with the
    entry's label or kind ("bank account number" and "account number", "home address" and
    "address"). Only then may the entry's value reach the answer prompt."""
    entry = _entry_words(label) | _entry_words(vault_type.replace("_", " "))
    return bool(entry & _entry_words(question))

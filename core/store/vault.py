"""Knowledge-vault values encrypted at rest.

Values are sealed with AES-256-GCM under the store's data key (core.store.keys); the
ledger holds only the token, ``rk1:`` + base64(nonce || ciphertext), bound to the value's
purpose by its associated data. What is embedded and searched is the entry's label, never
its value. A value is decrypted for an answer only when the question names its entry
(`question_names_entry`). Stores from before the data key kept Fernet tokens under a
``vault.key`` file next to the data: :func:`legacy_fernet` reads that key once, for the
migration (core.store.at_rest), which re-seals every token and then removes the file.

A cheap pattern detector also flags vault-looking text (street addresses, IBANs, card
numbers, "password is …"), so a weak model cannot leak those into plain memories.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from core.errors import StoreError
from core.store.keys import DataKey

LEGACY_KEY_FILE = "vault.key"
TOKEN_PREFIX = "rk1:"
_AAD = b"rememora vault value v1"
VAULT_TYPES = ("address", "account_number", "credential", "phone", "email", "id_number", "other")
SENSITIVITY = ("low", "medium", "high")
MASK = "[in vault]"


class VaultCipher:
    """Vault values sealed under the data key (locked key: LockedError)."""

    def __init__(self, key: DataKey) -> None:
        self._key = key

    def encrypt(self, value: str) -> str:
        sealed = self._key.seal(value.encode("utf-8"), _AAD, "storing a vault value")
        return TOKEN_PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii")

    def decrypt(self, token: str) -> str:
        if not is_current_token(token):
            raise StoreError(
                "a vault value is still sealed with the old vault.key; reopen the store "
                "to migrate it"
            )
        try:
            blob = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX) :].encode("ascii"))
        except ValueError:
            raise StoreError("a vault value in the ledger is damaged") from None
        return self._key.unseal(blob, _AAD, "showing a vault value").decode("utf-8")


def is_current_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


def legacy_fernet(data_dir: Path) -> Fernet | None:
    """The Fernet key of a store from before the data key, if its file is still there."""
    path = data_dir / LEGACY_KEY_FILE
    if not path.exists():
        return None
    try:
        return Fernet(path.read_bytes().strip())
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: cannot read the old vault key ({exc})") from None


def legacy_decrypt(fernet: Fernet, token: str) -> str:
    try:
        return fernet.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise StoreError(f"a vault value cannot be decrypted with {LEGACY_KEY_FILE}") from None


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

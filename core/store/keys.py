"""The store's data key: one random 256-bit AES-GCM key that seals the screenshots and
the vault values, made on the first open and kept on disk only wrapped.

``keys.json`` (owner-only, next to the ledger) holds the wrapped copies::

    {"version": 1, "key_id": "…",
     "wraps": [{"kind": "keyring", "service": "rememora", "account": "data-key-<key_id>",
                "nonce": b64, "wrapped": b64},
               {"kind": "passphrase", "kdf": "scrypt", "n": 32768, "r": 8, "p": 1,
                "salt": b64, "nonce": b64, "wrapped": b64}]}

A wrap is AES-256-GCM of the data key under a key-encrypting key (KEK), with the key id
as associated data. The KEK is either a random key held in the OS keyring (Secret Service
on Linux, through ``keyring``) or derived from the user's passphrase by scrypt. With a
usable keyring the key opens with no question asked; else the passphrase comes from
``REMEMORA_PASSPHRASE`` (scripts, tests), or from the prompt the caller passes (a terminal
prompt in the CLI, a dialog in the app). With neither, opening stops with one
:class:`KeyUnavailableError`; nothing ever waits for input that cannot come.

:meth:`DataKey.lock` drops the key (and the AEAD built from it) from memory; every seal
and unseal then raises :class:`LockedError` until :meth:`DataKey.unlock`. Python cannot
wipe the bytes it held, so "dropped" means no reference is left for the code to use.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core.errors import KeyUnavailableError, LockedError, StoreError

KEYS_FILE = "keys.json"
FORMAT_VERSION = 1
KEYRING_SERVICE = "rememora"
PASSPHRASE_ENV = "REMEMORA_PASSPHRASE"
SCRYPT_N = 1 << 15  # as the archives (core.archive.sealing): ~0.1 s and 32 MiB here
_ALLOWED_N = (1 << 14, 1 << 15, 1 << 16, 1 << 17, 1 << 18)  # a tampered file asks no more
NONCE = 12

PassphrasePrompt = Callable[[bool], str | None]
"""Asks the user for the passphrase; the argument is True for a new one (ask twice).
Returns None when it cannot ask (no terminal, dialog cancelled)."""


class KeyringAccess(Protocol):
    """The part of a ``keyring`` backend the data key uses."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...


# Backends that are not a keyring worth the name, by module: keyring's own "fail" and
# "null" (nothing is stored), and keyrings.alt's file backends: the plaintext one keeps the
# secret in a file in the home directory (no better than a key file next to the data,
# which is what this module replaces) and the "encrypted" one asks for its own password on
# the terminal (it would hang a GUI or a script). With one of them we use the passphrase.
_UNTRUSTED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def _trusted(backend: object) -> bool:
    module = type(backend).__module__
    return not any(module == m or module.startswith(m + ".") for m in _UNTRUSTED_MODULES)


def system_keyring() -> tuple[KeyringAccess | None, str]:
    """The OS keyring backend ``keyring`` resolves to, if it is a real one, and its
    name (or why there is none). ``PYTHON_KEYRING_BACKEND`` picks one (tests pick none)."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None, "the keyring package is not installed"
    try:
        backend: Any = keyring.get_keyring()
    except Exception as exc:  # a broken backend configuration: no keyring
        return None, f"no keyring ({exc})"
    candidates = list(backend.backends) if isinstance(backend, ChainerBackend) else [backend]
    for candidate in candidates:
        if _trusted(candidate):
            return candidate, f"{type(candidate).__module__}.{type(candidate).__name__}"
    return None, f"no usable keyring (found {type(backend).__module__})"


@dataclass(frozen=True)
class KeySource:
    """Where the key-encrypting key may come from. ``keyring``: a backend to use, or None
    for none; by default the system's (:func:`system_keyring`). ``prompt``: how to ask for
    a passphrase when ``REMEMORA_PASSPHRASE`` is not set (None: never ask)."""

    prompt: PassphrasePrompt | None = None
    keyring: KeyringAccess | None = None
    use_system_keyring: bool = True

    def resolve_keyring(self) -> KeyringAccess | None:
        if self.keyring is not None:
            return self.keyring
        return system_keyring()[0] if self.use_system_keyring else None


def throwaway_keys() -> KeySource:
    """For a temporary store (evaluation, benchmarks): no OS keyring (nothing is left in
    it) and a random passphrase this object alone holds; once it is gone, so is the key.
    ``REMEMORA_PASSPHRASE``, when set, still comes first."""
    passphrase = secrets.token_urlsafe(24)
    return KeySource(prompt=lambda _new: passphrase, use_system_keyring=False)


def use_throwaway_keys() -> None:
    """The same for a whole benchmark process and the CLI processes it starts: keyring's
    null backend (no keyring) and a random ``REMEMORA_PASSPHRASE``, unless one is set."""
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    os.environ.setdefault(PASSPHRASE_ENV, secrets.token_urlsafe(24))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def _derive(passphrase: str, salt: bytes, n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(passphrase.encode("utf-8"))


def _wrap(kek: bytes, data_key: bytes, key_id: str) -> dict[str, str]:
    nonce = os.urandom(NONCE)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, key_id.encode("ascii"))
    return {"nonce": _b64(nonce), "wrapped": _b64(wrapped)}


def _unwrap(kek: bytes, wrap: dict[str, Any], key_id: str) -> bytes | None:
    try:
        key = AESGCM(kek).decrypt(
            _unb64(wrap["nonce"]), _unb64(wrap["wrapped"]), key_id.encode("ascii")
        )
    except InvalidTag:
        return None
    return key if len(key) == 32 else None


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` owner-only and crash-safe: a ``.part`` file written,
    fsynced and renamed into place, then the folder fsynced."""
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(partial, 0o600)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DataKey:
    """The data key of one store, opened from ``keys.json`` (made on first open)."""

    def __init__(self, data_dir: Path, source: KeySource | None = None) -> None:
        self.path = data_dir / KEYS_FILE
        self.source = source or KeySource()
        self._aead: AESGCM | None = None
        self._lock = threading.Lock()
        self.opened_by = ""  # "keyring" or "passphrase", once open
        self.created = False  # made by this open (a new store, or one from before keys)

    # -- opening, locking ------------------------------------------------------------
    def open(self) -> None:
        """Unwrap the key (or make it, on a store that has none yet)."""
        if self.path.exists():
            self.unlock(None)
        else:
            self._create()

    @property
    def locked(self) -> bool:
        return self._aead is None

    def lock(self) -> None:
        with self._lock:
            self._aead = None

    def unlock(self, passphrase: str | None) -> None:
        """Open the key again: with ``passphrase`` if given, else from the keyring, then
        ``REMEMORA_PASSPHRASE``, then the prompt. Raises KeyUnavailableError."""
        stored = self._read()
        key_id = stored["key_id"]
        wraps = {w.get("kind"): w for w in stored["wraps"] if isinstance(w, dict)}
        if passphrase is None and "keyring" in wraps:
            key = self._from_keyring(wraps["keyring"], key_id)
            if key is not None:
                self._set(key, "keyring")
                return
        if "passphrase" not in wraps:
            raise KeyUnavailableError(
                f"{self.path}: the data key is wrapped by the OS keyring only, and the "
                "keyring has no entry for it (is your desktop's keyring unlocked?)"
            )
        wrap = wraps["passphrase"]
        if passphrase is None:
            passphrase = self._ask(new=False)
        try:
            n = int(wrap["n"])
            if n not in _ALLOWED_N:
                raise ValueError(f"scrypt n={n}")
            kek = _derive(passphrase, _unb64(wrap["salt"]), n)
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreError(f"{self.path}: damaged passphrase entry ({exc})") from None
        key = _unwrap(kek, wrap, key_id)
        if key is None:
            raise KeyUnavailableError(f"wrong passphrase for the store at {self.path.parent}")
        self._set(key, "passphrase")

    def _set(self, key: bytes, how: str) -> None:
        with self._lock:
            self._aead = AESGCM(key)
            self.opened_by = how

    def _from_keyring(self, wrap: dict[str, Any], key_id: str) -> bytes | None:
        backend = self.source.resolve_keyring()
        if backend is None:
            return None
        try:
            kek_text = backend.get_password(
                str(wrap.get("service", KEYRING_SERVICE)), str(wrap["account"])
            )
            if kek_text is None:
                return None
            return _unwrap(_unb64(kek_text), wrap, key_id)
        except Exception:  # a keyring that fails now (locked, gone): try the passphrase
            return None

    def _ask(self, new: bool) -> str:
        env = os.environ.get(PASSPHRASE_ENV)
        if env:
            return env
        answer = self.source.prompt(new) if self.source.prompt is not None else None
        if not answer:
            raise KeyUnavailableError(
                "no usable OS keyring and no passphrase: set REMEMORA_PASSPHRASE, or start "
                "Rememora from a terminal or the desktop app to type one"
            )
        return answer

    def _create(self) -> None:
        data_key = AESGCM.generate_key(bit_length=256)
        key_id = secrets.token_hex(8)
        wraps: list[dict[str, Any]] = []
        backend = self.source.resolve_keyring()
        if backend is not None:
            kek = AESGCM.generate_key(bit_length=256)
            account = f"data-key-{key_id}"
            try:
                backend.set_password(KEYRING_SERVICE, account, _b64(kek))
            except Exception:  # a keyring that refuses to store: fall back to a passphrase
                backend = None
            else:
                wraps.append(
                    {
                        "kind": "keyring",
                        "service": KEYRING_SERVICE,
                        "account": account,
                        **_wrap(kek, data_key, key_id),
                    }
                )
        passphrase = os.environ.get(PASSPHRASE_ENV) or None
        if backend is None and passphrase is None:
            passphrase = self._ask(new=True)
        if passphrase is not None:  # also with a keyring: a way back should it be lost
            salt = os.urandom(16)
            kek = _derive(passphrase, salt, SCRYPT_N)
            wraps.append(
                {
                    "kind": "passphrase",
                    "kdf": "scrypt",
                    "n": SCRYPT_N,
                    "r": 8,
                    "p": 1,
                    "salt": _b64(salt),
                    **_wrap(kek, data_key, key_id),
                }
            )
        body = {"version": FORMAT_VERSION, "key_id": key_id, "wraps": wraps}
        write_private(self.path, json.dumps(body, indent=1).encode("utf-8"))
        self.created = True
        self._set(data_key, wraps[0]["kind"])

    def _read(self) -> dict[str, Any]:
        try:
            stored = json.loads(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.path}: cannot read the wrapped data key ({exc})") from None
        if not isinstance(stored, dict) or stored.get("version") != FORMAT_VERSION:
            raise StoreError(f"{self.path}: not a keys file of version {FORMAT_VERSION}")
        if not isinstance(stored.get("key_id"), str) or not isinstance(stored.get("wraps"), list):
            raise StoreError(f"{self.path}: damaged keys file")
        return stored

    # -- sealing ---------------------------------------------------------------------
    def _cipher(self, what: str) -> AESGCM:
        aead = self._aead
        if aead is None:
            raise LockedError(what)
        return aead

    def seal(self, data: bytes, aad: bytes, what: str = "writing encrypted data") -> bytes:
        """``nonce || AES-256-GCM(data)`` bound to ``aad``."""
        nonce = os.urandom(NONCE)
        return nonce + self._cipher(what).encrypt(nonce, data, aad)

    def unseal(self, blob: bytes, aad: bytes, what: str = "reading encrypted data") -> bytes:
        aead = self._cipher(what)
        try:
            return aead.decrypt(blob[:NONCE], blob[NONCE:], aad)
        except InvalidTag:
            raise StoreError(
                f"{what}: the data does not open with this store's key (damaged or moved)"
            ) from None

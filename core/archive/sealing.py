"""Passphrase encryption of an archive: AES-256-GCM in authenticated chunks.

The key comes from the passphrase by scrypt (n=2^15, r=8, p=1, a random 16-byte salt),
which also yields a verifier whose hash is in the header, so a wrong passphrase is told
apart from a damaged file. The plaintext (the tar.gz of core.archive.container) is cut
into chunks of 1 MiB; each is sealed with a nonce made of a random prefix and its index,
and authenticated together with the header's hash, its index and whether it is the last
one. So a chunk cannot be changed, dropped, reordered or moved to another archive, and a
file cut short (no final chunk) is detected; large media never has to fit in memory.

    file   := MAGIC  u16 header_length  header_json  frame*
    frame  := u8 final  u32 length  ciphertext(length)      (final = 1 on the last frame)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from core.errors import ArchiveError

MAGIC = b"REMEMORA-SEALED-1\n"
CHUNK = 1 << 20
TAG = 16
SCRYPT_N = 1 << 15
_ALLOWED_N = (1 << 14, 1 << 15, 1 << 16, 1 << 17)  # a hostile header cannot ask for more
_MAX_HEADER = 1024


def is_sealed(head: bytes) -> bool:
    return head.startswith(MAGIC)


def _derive(passphrase: str, salt: bytes, n: int) -> tuple[bytes, bytes]:
    material = Scrypt(salt=salt, length=64, n=n, r=8, p=1).derive(passphrase.encode("utf-8"))
    return material[:32], hashlib.sha256(material[32:]).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _aad(header_hash: bytes, index: int, final: bool) -> bytes:
    return header_hash + struct.pack(">QB", index, int(final))


class SealedWriter:
    """A write-only stream that encrypts what is written to ``raw``; ``close`` writes the
    final chunk (it does not close ``raw``)."""

    def __init__(self, raw: BinaryIO, passphrase: str) -> None:
        salt = os.urandom(16)
        self._prefix = os.urandom(4)
        key, check = _derive(passphrase, salt, SCRYPT_N)
        header = json.dumps(
            {
                "kdf": "scrypt",
                "n": SCRYPT_N,
                "r": 8,
                "p": 1,
                "salt": _b64(salt),
                "nonce_prefix": _b64(self._prefix),
                "check": _b64(check),
                "chunk": CHUNK,
                "cipher": "AES-256-GCM",
            },
            sort_keys=True,
        ).encode("ascii")
        raw.write(MAGIC + struct.pack(">H", len(header)) + header)
        self._raw = raw
        self._aead = AESGCM(key)
        self._header_hash = hashlib.sha256(header).digest()
        self._buffer = bytearray()
        self._index = 0
        self._closed = False

    def _emit(self, data: bytes, final: bool) -> None:
        nonce = self._prefix + struct.pack(">Q", self._index)
        sealed = self._aead.encrypt(nonce, data, _aad(self._header_hash, self._index, final))
        self._raw.write(struct.pack(">BI", int(final), len(sealed)) + sealed)
        self._index += 1

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._closed = True


class SealedReader:
    """A read-only stream of the plaintext of a sealed archive, checked chunk by chunk.
    Raises :class:`ArchiveError` on a wrong passphrase, a damaged chunk or a cut-short
    file."""

    def __init__(self, raw: BinaryIO, passphrase: str, path: Path) -> None:
        self._raw = raw
        self._path = path
        if raw.read(len(MAGIC)) != MAGIC:
            raise ArchiveError(path, "not a sealed Rememora archive")
        size = raw.read(2)
        if len(size) != 2 or not 0 < struct.unpack(">H", size)[0] <= _MAX_HEADER:
            raise ArchiveError(path, "damaged: the encryption header is cut short or too big")
        header = raw.read(struct.unpack(">H", size)[0])
        if len(header) < struct.unpack(">H", size)[0]:
            raise ArchiveError(path, "truncated: the archive ends inside its header")
        try:
            fields = json.loads(header.decode("ascii"))
            n, r, p = int(fields["n"]), int(fields["r"]), int(fields["p"])
            salt = base64.b64decode(fields["salt"], validate=True)
            self._prefix = base64.b64decode(fields["nonce_prefix"], validate=True)
            check = base64.b64decode(fields["check"], validate=True)
            chunk = int(fields["chunk"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ArchiveError(path, "damaged: the encryption header cannot be read") from None
        if (
            fields.get("kdf") != "scrypt"
            or n not in _ALLOWED_N
            or (r, p) != (8, 1)
            or len(salt) != 16
            or len(self._prefix) != 4
            or chunk != CHUNK
        ):
            raise ArchiveError(path, "damaged: unsupported encryption parameters")
        key, expected = _derive(passphrase, salt, n)
        if not hmac.compare_digest(expected, check):
            raise ArchiveError(path, "wrong passphrase")
        self._aead = AESGCM(key)
        self._header_hash = hashlib.sha256(header).digest()
        self._buffer = bytearray()
        self._index = 0
        self._done = False

    def _next_chunk(self) -> None:
        frame = self._raw.read(5)
        if len(frame) < 5:
            raise ArchiveError(self._path, "truncated: the archive ends before its last chunk")
        final, length = struct.unpack(">BI", frame)
        if final not in (0, 1) or not TAG <= length <= CHUNK + TAG:
            raise ArchiveError(self._path, f"damaged: chunk {self._index} has a bad frame")
        sealed = self._raw.read(length)
        if len(sealed) < length:
            raise ArchiveError(self._path, "truncated: the archive ends inside a chunk")
        nonce = self._prefix + struct.pack(">Q", self._index)
        try:
            plain = self._aead.decrypt(
                nonce, sealed, _aad(self._header_hash, self._index, bool(final))
            )
        except InvalidTag:
            raise ArchiveError(
                self._path, f"damaged: chunk {self._index} fails its authentication"
            ) from None
        self._index += 1
        self._buffer += plain
        if final:
            if self._raw.read(1):
                raise ArchiveError(self._path, "damaged: data after the archive's last chunk")
            self._done = True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._next_chunk()
        take = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        out = bytes(self._buffer[:take])
        del self._buffer[:take]
        return out

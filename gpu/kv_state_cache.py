"""A tiered cache of saved KV states (as in Pensieve and MemOS's activation memory).

The live context on the device is the first tier and belongs to the runtime; this module
keeps the other two: saved states in RAM under a byte budget, and files on disk under a
second budget, least recently used out first. Every state saved is written through to
disk, so the cache survives an app restart; a state evicted from RAM stays on disk.

A state is found by its key, a digest of everything that makes it valid: the model file's
hash, the context settings and the prefix tokens (see :func:`state_key`). A changed prefix
(an edited core memory) gives a new key, so exactly its old entries stop being used and
age out. A file on disk carries its key and a sha256 of its payload; a file that is
truncated, corrupted or written for another key is deleted and reported as a miss.

This module knows nothing of llama.cpp: a state is opaque bytes plus the prefix tokens
and a fingerprint the runtime checks after restoring it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"RMKVSTATE1\n"
SUFFIX = ".kvstate"
_HEADER_LEN = struct.Struct("<I")


def state_key(model_sha256: str, context: str, tokens: Sequence[int]) -> str:
    """The key of a saved prefix state: model hash, context settings, prefix tokens."""
    digest = hashlib.sha256()
    digest.update(model_sha256.encode("ascii"))
    digest.update(b"\0" + context.encode("utf-8") + b"\0")
    digest.update(struct.pack(f"<{len(tokens)}i", *tokens))
    return digest.hexdigest()


@dataclass(frozen=True)
class SavedState:
    key: str
    tokens: tuple[int, ...]
    fingerprint: str  # the runtime's check value for the state (e.g. last-token logits)
    payload: bytes

    @property
    def nbytes(self) -> int:
        return len(self.payload)


@dataclass
class CacheStats:
    ram_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    rejected_files: int = 0
    evicted_ram: int = 0
    evicted_disk: int = 0
    notes: list[str] = field(default_factory=list)


class KVStateCache:
    """RAM tier (LRU, ``ram_budget_bytes``) over a disk tier (LRU by access time,
    ``disk_budget_bytes``) in ``folder``; ``folder=None`` keeps RAM only."""

    def __init__(
        self,
        ram_budget_bytes: int,
        folder: Path | None = None,
        disk_budget_bytes: int = 0,
    ) -> None:
        self.ram_budget_bytes = ram_budget_bytes
        self.disk_budget_bytes = disk_budget_bytes if folder is not None else 0
        self.folder = folder
        self._ram: OrderedDict[str, SavedState] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    # -- lookup -------------------------------------------------------------------------
    def get(self, key: str) -> SavedState | None:
        with self._lock:
            state = self._ram.get(key)
            if state is not None:
                self._ram.move_to_end(key)
                self.stats.ram_hits += 1
                return state
        state = self._read_file(key)
        if state is None:
            self.stats.misses += 1
            return None
        self.stats.disk_hits += 1
        with self._lock:
            self._keep_in_ram(state)
        return state

    def ram_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._ram.values())

    def disk_bytes(self) -> int:
        return sum(size for _, size, _ in self._disk_files())

    def keys_in_ram(self) -> list[str]:
        with self._lock:
            return list(self._ram)

    def keys_on_disk(self) -> list[str]:
        return [path.name.removesuffix(SUFFIX) for path, _, _ in self._disk_files()]

    def longest_match(self, tokens: Sequence[int]) -> tuple[SavedState, int] | None:
        """The state in RAM whose tokens share the longest leading run with ``tokens``,
        and that run's length (None: no state shares even one token). A state longer than
        the run is still useful: the runtime drops the KV past the run."""
        with self._lock:
            states = list(self._ram.values())
        best: tuple[SavedState, int] | None = None
        for state in states:
            shared = shared_run(state.tokens, tokens)
            if shared and (best is None or shared > best[1]):
                best = (state, shared)
        if best is not None:
            with self._lock:
                if best[0].key in self._ram:
                    self._ram.move_to_end(best[0].key)
        return best

    # -- store --------------------------------------------------------------------------
    def put(self, state: SavedState, *, persist: bool = True) -> None:
        """Keep ``state`` in RAM and, when ``persist``, write it through to disk (states
        that change with every question are kept in RAM only)."""
        with self._lock:
            self._keep_in_ram(state)
        if persist and self.folder is not None and state.nbytes <= self.disk_budget_bytes:
            self._write_file(state)
            self._trim_disk(keep=state.key)

    def discard(self, key: str) -> None:
        """Forget a state everywhere (e.g. it failed verification after a restore)."""
        with self._lock:
            self._ram.pop(key, None)
        if self.folder is not None:
            self._path(key).unlink(missing_ok=True)

    def clear_ram(self) -> int:
        """Forget every state kept in RAM (the disk tier stays); returns how many. Lock
        calls it: the per-question states may hold a vault value an answer just used."""
        with self._lock:
            dropped = len(self._ram)
            self._ram.clear()
        return dropped

    # -- RAM tier -----------------------------------------------------------------------
    def _keep_in_ram(self, state: SavedState) -> None:
        if state.nbytes > self.ram_budget_bytes:
            return
        self._ram[state.key] = state
        self._ram.move_to_end(state.key)
        used = sum(s.nbytes for s in self._ram.values())
        while used > self.ram_budget_bytes:
            _, oldest = self._ram.popitem(last=False)
            used -= oldest.nbytes
            self.stats.evicted_ram += 1

    # -- disk tier ----------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{key}{SUFFIX}"

    def _disk_files(self) -> list[tuple[Path, int, float]]:
        if self.folder is None:
            return []
        found = []
        for path in self.folder.glob(f"*{SUFFIX}"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found.append((path, stat.st_size, stat.st_mtime))
        return found

    def _write_file(self, state: SavedState) -> None:
        header = json.dumps(
            {
                "key": state.key,
                "tokens": list(state.tokens),
                "fingerprint": state.fingerprint,
                "payload_bytes": state.nbytes,
                "payload_sha256": hashlib.sha256(state.payload).hexdigest(),
            }
        ).encode("utf-8")
        path = self._path(state.key)
        partial = path.with_suffix(".partial")
        try:
            with partial.open("wb") as handle:
                handle.write(MAGIC + _HEADER_LEN.pack(len(header)) + header)
                handle.write(state.payload)
            os.replace(partial, path)
        except OSError as exc:  # a full disk costs the disk tier, never the answer
            partial.unlink(missing_ok=True)
            self.stats.notes.append(f"cannot write {path}: {exc}")

    def _read_file(self, key: str) -> SavedState | None:
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._reject(path, f"unreadable: {exc}")
            return None
        state = _decode(data, key)
        if isinstance(state, str):
            self._reject(path, state)
            return None
        os.utime(path)  # most recently used
        return state

    def _reject(self, path: Path, why: str) -> None:
        self.stats.rejected_files += 1
        self.stats.notes.append(f"ignored {path.name}: {why}")
        log.warning("KV state file %s ignored: %s", path, why)
        path.unlink(missing_ok=True)

    def _trim_disk(self, keep: str) -> None:
        files = sorted(self._disk_files(), key=lambda item: item[2])
        used = sum(size for _, size, _ in files)
        for path, size, _ in files:
            if used <= self.disk_budget_bytes:
                break
            if path.name == f"{keep}{SUFFIX}":
                continue
            path.unlink(missing_ok=True)
            used -= size
            self.stats.evicted_disk += 1


def shared_run(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` have in common."""
    shared = 0
    for x, y in zip(a, b):
        if x != y:
            break
        shared += 1
    return shared


def _decode(data: bytes, key: str) -> SavedState | str:
    """The state in a file's bytes, or why they are not a valid state for ``key``."""
    if not data.startswith(MAGIC):
        return "not a Rememora KV state file"
    start = len(MAGIC) + _HEADER_LEN.size
    if len(data) < start:
        return "truncated header"
    (header_len,) = _HEADER_LEN.unpack_from(data, len(MAGIC))
    try:
        header = json.loads(data[start : start + header_len])
        payload = data[start + header_len :]
        if header["key"] != key:
            return "written for another key (model, context or prefix differ)"
        if len(payload) != header["payload_bytes"]:
            return f"truncated payload ({len(payload)} of {header['payload_bytes']} bytes)"
        if hashlib.sha256(payload).hexdigest() != header["payload_sha256"]:
            return "payload checksum mismatch (corrupted)"
        return SavedState(
            key, tuple(int(t) for t in header["tokens"]), str(header["fingerprint"]), payload
        )
    except (ValueError, KeyError, TypeError) as exc:
        return f"bad header: {exc}"

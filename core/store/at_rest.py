"""Bringing a store to the current at-rest protection when it opens, idempotently:

- vault values sealed with the old ``vault.key`` (Fernet) are sealed again under the data
  key, in the memory rows and in their history snapshots, in ONE unit of work; only after
  it commits is ``vault.key`` removed. A crash before the removal leaves tokens already
  resealed (skipped the next time) and the file, removed then.
- every file and folder of the data directory is made owner-only (0700/0600); symlinks
  (a shared models folder, say) are left alone, and not followed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.records import MemoryType
from core.store.keys import fsync_dir
from core.store.ledger import Ledger
from core.store.vault import (
    LEGACY_KEY_FILE,
    VaultCipher,
    is_current_token,
    legacy_decrypt,
    legacy_fernet,
)

DIR_MODE = 0o700
FILE_MODE = 0o600


def migrate_vault(ledger: Ledger, data_dir: Path, cipher: VaultCipher) -> int:
    """Reseal the old Fernet tokens under the data key; returns how many tokens."""
    fernet = legacy_fernet(data_dir)
    if fernet is None:
        return 0
    count = 0
    with ledger.write(actor="system") as tx:
        for memory in tx.memories.list_all(MemoryType.VAULT):
            tokens = {memory.fields.get("value", "")}
            for snapshot in tx.memories.history_snapshots(memory.id):
                fields = snapshot.get("fields")
                if isinstance(fields, dict) and isinstance(fields.get("value"), str):
                    tokens.add(fields["value"])
            old = sorted(t for t in tokens if t and not is_current_token(t))
            if not old:
                continue
            mapping = {t: cipher.encrypt(legacy_decrypt(fernet, t)) for t in old}
            tx.memories.reseal(memory.id, mapping, "vault value sealed under the data key")
            count += len(mapping)
    ledger.checkpoint()  # the old tokens out of the WAL too
    (data_dir / LEGACY_KEY_FILE).unlink(missing_ok=True)
    fsync_dir(data_dir)
    return count


def make_owner_only_shallow(root: Path) -> int:
    """chmod ``root`` and what lies directly in it (cheap, on every open)."""
    return make_owner_only(root, deep=False)


def make_owner_only(root: Path, deep: bool = True) -> int:
    """chmod every folder 0700 and file 0600 under ``root`` (itself included); returns
    how many modes changed."""
    changed = 0

    def fix(path: Path, mode: int) -> None:
        nonlocal changed
        current = stat.S_IMODE(path.lstat().st_mode)
        wanted = (current & 0o700) | mode  # the owner's bits kept (an executable stays so)
        if current != wanted:
            os.chmod(path, wanted)
            changed += 1

    if not root.exists():
        return 0
    fix(root, DIR_MODE)
    for folder, dirs, files in os.walk(root):  # symlinked folders are not entered
        base = Path(folder)
        for name in [*dirs, *files]:
            path = base / name
            if not path.is_symlink():
                fix(path, DIR_MODE if name in dirs else FILE_MODE)
        if not deep:
            break
    return changed

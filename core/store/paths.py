"""Where Rememora keeps things. One data directory holds the ledger, the index, the
settings and the assembled model files; it comes from ``--data-dir``, else
``REMEMORA_DATA_DIR``, else the platform's user data directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "rememora"


def resolve_data_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get("REMEMORA_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class StorePaths:
    root: Path

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.sqlite3"

    @property
    def chroma(self) -> Path:
        return self.root / "chroma"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def kv_states(self) -> Path:
        """Saved KV states of prompt prefixes (the disk tier of the state cache)."""
        return self.root / "kv-states"

    @property
    def lock(self) -> Path:
        return self.root / "rememora.lock"

    @property
    def lock_owner(self) -> Path:
        return self.root / "rememora.lock.owner"

    @property
    def media(self) -> Path:
        """Captured frames (WebP), within the capture budget."""
        return self.root / "media"

    @property
    def capture_health(self) -> Path:
        return self.root / "capture-health.json"

"""Settings: a TOML file in the data directory, validated by pydantic.

A bad value raises :class:`SettingsError` naming the key and what is allowed, so the CLI
prints one line and exits with code 2. Missing file means defaults.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from core.errors import SettingsError

SETTINGS_FILE = "settings.toml"
MAX_SETTINGS_BYTES = 1 << 20
LLMModelName = Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "smollm2-135m"]
EmbedderName = Literal["all-minilm-l6-v2", "all-mpnet-base-v2"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LLMSettings(_Section):
    model: LLMModelName = "qwen2.5-coder-0.5b"  # models.registry.DEFAULT_LLM
    model_path: str = Field("", description="any GGUF file; overrides `model` when set")
    n_ctx: int = Field(4096, ge=512, le=131072)
    n_threads: int = Field(0, ge=0, le=256, description="0: one per physical core")
    max_answer_tokens: int = Field(256, ge=16, le=4096)
    state_cache_ram_mb: int = Field(
        512, ge=0, le=1_000_000, description="saved prompt-prefix KV states kept in RAM"
    )
    state_cache_disk_mb: int = Field(
        2048, ge=0, le=10_000_000, description="and on disk, in the data directory; 0: off"
    )
    base_url: str = Field(
        "",
        description="an OpenAI-compatible server (e.g. "
        "http://127.0.0.1:8000/v1); empty: llama.cpp in-process",
    )


class EmbedderSettings(_Section):
    model: EmbedderName = "all-minilm-l6-v2"


class RetrievalSettings(_Section):
    top_k: int = Field(8, ge=1, le=100)
    min_similarity: float = Field(0.25, ge=-1.0, le=1.0)


class CaptureSettings(_Section):
    """Screen capture: rate, privacy gate, dedup and the media budget."""

    monitor: int = Field(0, ge=0, le=16, description="0: all monitors as one image; N: monitor N")
    min_interval_s: float = Field(2.0, ge=0.2, le=600, description="while the screen changes")
    max_interval_s: float = Field(30.0, ge=0.2, le=3600, description="when the screen is idle")
    window_poll_s: float = Field(0.5, ge=0.05, le=10, description="focus/title check period")
    dedup_threshold: float = Field(
        1.0,
        ge=0.0,
        le=100.0,
        description="a tile where at most this percent of its (downscaled) pixels changed is unchanged",
    )
    tile_px: int = Field(128, ge=32, le=1024, description="side of the change-detection tiles")
    full_ocr_fraction: float = Field(
        0.5, ge=0.0, le=1.0, description="OCR the whole frame when this share of it changed"
    )
    ocr_queue_max: int = Field(
        32, ge=1, le=1000, description="frames waiting for OCR before new ones are dropped"
    )
    ocr_threads: int = Field(1, ge=1, le=64)
    webp_quality: int = Field(60, ge=1, le=100)
    media_budget_gb: float = Field(
        5.0, ge=0.0, le=10000.0, description="frames past this are deleted, oldest first"
    )
    min_free_disk_gb: float = Field(
        1.0, ge=0.0, le=10000.0, description="capture pauses below this much free disk"
    )
    stale_after_s: float = Field(
        120.0, ge=5.0, le=86400.0, description="the tray shows 'stale' past this frame age"
    )
    redact_emails: bool = Field(True, description="hide email addresses in screen text")
    redact_phones: bool = Field(True, description="hide phone numbers in screen text")
    deny_apps: tuple[str, ...] = (
        "keepassxc",
        "keepass",
        "keepass2",
        "1password",
        "bitwarden",
        "lastpass",
        "enpass",
        "seahorse",
        "kwalletmanager",
        "kwalletmanager5",
        "gnome-keyring",
        "rememora",
        "i3lock",
        "xscreensaver",
        "gnome-screensaver",
        "light-locker",
        "xsecurelock",
    )
    deny_titles: tuple[str, ...] = (
        r"\bincognito\b",
        r"\binprivate\b",
        r"\bprivate browsing\b",
        r"\bprivate window\b",
        r"^rememora\b",
        r"\bkeepassxc\b",
        r"\bbitwarden\b",
        r"\b1password\b",
    )

    @field_validator("deny_titles")
    @classmethod
    def _patterns_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return patterns


class IngestSettings(_Section):
    """The desktop app's background ingest (typed memories from pending events)."""

    background_interval_s: float = Field(
        30.0, ge=0.0, le=86400.0, description="how often the app looks for pending events; 0: never"
    )
    idle_s: float = Field(
        5.0,
        ge=0.0,
        le=3600.0,
        description="and starts an ingest only after this long without typing",
    )


class ConsolidationSettings(_Section):
    """Sleep-time consolidation: when the app runs it, and how each step decides."""

    enabled: bool = Field(True, description="the desktop app schedules consolidation")
    after_events: int = Field(
        200, ge=0, le=1_000_000, description="run after this many new events; 0: never"
    )
    idle_minutes: float = Field(
        20.0, ge=0.0, le=10080.0, description="run after this long without user input; 0: never"
    )
    nightly_at: str = Field(
        "03:00",
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$",
        description="run every night at this local time (HH:MM); empty: never",
    )
    check_interval_s: float = Field(
        60.0, ge=1.0, le=3600.0, description="how often the triggers are checked"
    )
    on_battery: Literal["wait", "run"] = Field(
        "wait", description="wait: a due run waits until the machine is on mains power"
    )
    merge_similarity: float = Field(
        0.9, ge=0.5, le=1.0, description="cosine at which two facts are near duplicates"
    )
    conflict_similarity: float = Field(
        0.6, ge=0.0, le=1.0, description="cosine at which two facts may contradict"
    )
    session_gap_minutes: float = Field(
        30.0, ge=1.0, le=1440.0, description="a pause this long starts a new session"
    )
    min_session_episodes: int = Field(
        2, ge=1, le=10000, description="episodes a session needs to get a summary"
    )
    summary_max_tokens: int = Field(96, ge=16, le=1024)
    stability_days: float = Field(
        30.0, gt=0.0, le=36500.0, description="memory stability before any recall (decay)"
    )
    archive_below: float = Field(
        0.05, ge=0.0, le=1.0, description="strength under which a memory is archived"
    )
    reread_max_batches: int = Field(
        20, ge=0, le=100000, description="batches re-read per run for missed facts"
    )
    media_target_fraction: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="over the media budget, frames are dropped down to this share of it",
    )


class IndexSettings(_Section):
    chroma_host: str = Field("", description="a Chroma server (`chroma run`); empty: embedded")
    chroma_port: int = Field(8000, ge=1, le=65535)


class UserSettings(_Section):
    """Who the user is: chats may spell the user "user", "me" or by name."""

    name: str = Field("", max_length=100, description="the name the assistant knows you by")
    aliases: tuple[str, ...] = Field(
        (), max_length=20, description="other names your chats use for you (nicknames)"
    )

    @field_validator("aliases")
    @classmethod
    def _aliases_short(cls, aliases: tuple[str, ...]) -> tuple[str, ...]:
        for alias in aliases:
            if not alias.strip() or len(alias) > 100:
                raise ValueError("each alias is 1 to 100 characters")
        return aliases


class Settings(_Section):
    user: UserSettings = UserSettings()
    llm: LLMSettings = LLMSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    capture: CaptureSettings = CaptureSettings()
    index: IndexSettings = IndexSettings()
    ingest: IngestSettings = IngestSettings()
    consolidation: ConsolidationSettings = ConsolidationSettings()


def _describe(error: ErrorDetails) -> tuple[str, str]:
    key = ".".join(str(part)[:60] for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return key, "unknown key"
    got = repr(error["input"])
    got = got if len(got) <= 80 else got[:77] + "..."
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return key, f"got {got}; allowed values: {expected}"
    return key, f"got {got}; {error['msg']}"


def load_settings(data_dir: Path) -> Settings:
    """Read ``data_dir/settings.toml``; defaults where the file or a key is absent."""
    path = data_dir / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        if path.stat().st_size > MAX_SETTINGS_BYTES:
            raise SettingsError(path, "(file)", f"bigger than {MAX_SETTINGS_BYTES} bytes")
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())
        raise SettingsError(path, "(syntax)", f"not valid TOML: {message}") from None
    except RecursionError:
        raise SettingsError(path, "(syntax)", "nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(path, "(file)", f"cannot be read: {exc}") from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        key, message = _describe(exc.errors()[0])
        raise SettingsError(path, key, message) from None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to settings.toml")


def to_toml(raw: dict[str, object]) -> str:
    """Settings as TOML: top-level keys, then one table per section."""
    lines = [f"{key} = {_toml_value(v)}" for key, v in raw.items() if not isinstance(v, dict)]
    for section, values in raw.items():
        if isinstance(values, dict):
            lines += ["", f"[{section}]"]
            lines += [f"{key} = {_toml_value(v)}" for key, v in values.items()]
    return "\n".join(lines).strip() + "\n"


def update_settings(data_dir: Path, changes: dict[str, dict[str, object]]) -> Settings:
    """Merge ``changes`` (section -> key -> value) into ``data_dir/settings.toml``,
    validate the result, and write it atomically; a bad value raises `SettingsError`
    (naming the key) and the file is left as it was."""
    load_settings(data_dir)  # the file as it is must be valid before it is rewritten
    path = data_dir / SETTINGS_FILE
    raw: dict[str, object] = (
        tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    )
    for section, values in changes.items():
        current = raw.get(section)
        merged = dict(current) if isinstance(current, dict) else {}
        merged.update(values)
        raw[section] = merged
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        key, message = _describe(exc.errors()[0])
        raise SettingsError(path, key, message) from None
    partial = path.with_name(SETTINGS_FILE + ".part")
    try:
        partial.write_text(to_toml(raw), encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise SettingsError(path, "(file)", f"cannot be written: {exc}") from None
    return settings

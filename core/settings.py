"""Settings: a TOML file in the data directory, validated by pydantic.

A bad value raises :class:`SettingsError` naming the key and what is allowed, so the CLI
prints one line and exits with code 2. Missing file means defaults.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import SettingsError

SETTINGS_FILE = "settings.toml"
LLMModelName = Literal["qwen2.5-coder-0.5b", "smollm2-135m"]
EmbedderName = Literal["all-minilm-l6-v2", "all-mpnet-base-v2"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LLMSettings(_Section):
    model: LLMModelName = "qwen2.5-coder-0.5b"
    model_path: str = Field("", description="any GGUF file; overrides `model` when set")
    n_ctx: int = Field(4096, ge=512, le=131072)
    n_threads: int = Field(0, ge=0, le=256, description="0: one per physical core")
    max_answer_tokens: int = Field(256, ge=16, le=4096)


class EmbedderSettings(_Section):
    model: EmbedderName = "all-minilm-l6-v2"


class RetrievalSettings(_Section):
    top_k: int = Field(8, ge=1, le=100)
    min_similarity: float = Field(0.25, ge=-1.0, le=1.0)


class Settings(_Section):
    llm: LLMSettings = LLMSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    retrieval: RetrievalSettings = RetrievalSettings()


def _describe(error: dict[str, object]) -> tuple[str, str]:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"  # type: ignore[union-attr]
    kind = str(error["type"])
    if kind == "extra_forbidden":
        return key, "unknown key"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")  # type: ignore[union-attr]
        return key, f"got {error['input']!r}; allowed values: {expected}"
    return key, f"got {error['input']!r}; {error['msg']}"


def load_settings(data_dir: Path) -> Settings:
    """Read ``data_dir/settings.toml``; defaults where the file or a key is absent."""
    path = data_dir / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(path, "(syntax)", f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(path, "(file)", f"cannot be read: {exc}") from None
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        key, message = _describe(exc.errors()[0])  # type: ignore[arg-type]
        raise SettingsError(path, key, message) from None

"""Icons and prompt templates shipped with Rememora."""

from __future__ import annotations

from importlib import resources


def read_text(relative: str) -> str:
    return resources.files(__name__).joinpath(relative).read_text(encoding="utf-8")


def path(relative: str) -> str:
    return str(resources.files(__name__).joinpath(relative))

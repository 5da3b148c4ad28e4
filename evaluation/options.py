"""What a benchmark run is asked to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ExtractMode = Literal["none", "llm"]


@dataclass(frozen=True)
class EvalOptions:
    extract: ExtractMode = "none"
    limit: int | None = None
    answer: bool = False
    dump: Path | None = None

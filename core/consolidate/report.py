"""What one consolidation run did (or, dry, would do): the typed report the CLI prints
and `rememora consolidate --json OUT` writes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ConsolidationReport:
    """Counts of the run's changes, the store's size before and after (tokens: active
    memory text in the model's tokenizer; bytes: the ledger files and the kept media),
    its time and model calls. ``changes`` holds one line per change, for ``--dry-run``."""

    run_id: str
    merged: int = 0
    summarised: int = 0
    superseded: int = 0
    archived: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0
    llm_calls: int = 0
    held: int = 0  # contradictions held for the user's confirmation
    derived: int = 0  # procedures derived from repeated workflows
    reread: int = 0  # typed memories found by re-reading batches
    core_rewritten: int = 0
    frames_dropped: int = 0
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "merged": self.merged,
            "summarised": self.summarised,
            "superseded": self.superseded,
            "archived": self.archived,
            "tokens_before": self.tokens_before,
            "tokens_after": self.tokens_after,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "seconds": round(self.seconds, 3),
            "llm_calls": self.llm_calls,
            "held": self.held,
            "derived": self.derived,
            "reread": self.reread,
            "core_rewritten": self.core_rewritten,
            "frames_dropped": self.frames_dropped,
            "dry_run": self.dry_run,
            "changes": list(self.changes),
        }

    def summary(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        parts = [
            f"{self.merged} merged",
            f"{self.summarised} summarised",
            f"{self.superseded} superseded",
            f"{self.held} held for confirmation",
            f"{self.archived} archived",
            f"{self.derived} procedures derived",
            f"{self.reread} re-read",
            f"{self.core_rewritten} core rewritten",
            f"{self.frames_dropped} frames dropped",
        ]
        size = (
            f"tokens {self.tokens_before} -> {self.tokens_after}, "
            f"bytes {self.bytes_before} -> {self.bytes_after}"
        )
        return (
            f"run {self.run_id} {verb}: {', '.join(parts)}; {size}; "
            f"{self.llm_calls} model calls in {self.seconds:.1f} s"
        )

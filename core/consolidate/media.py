"""Step: compact media. When the kept screenshots take more than
``media_target_fraction`` of the storage budget, frames whose text is already in the
ledger (their screen event was recorded) are deleted, oldest first, until they fit that
share; frames not yet read are kept. The text and the memories made from a frame stay.
Frames are listed and removed through core.capture.frame_files, which owns their paths
and how they are sealed; the media totals count a frame's bytes on disk (sealed), so the
step plans and uncounts in those bytes, and only for a frame it did remove (capture may
have deleted one over its own budget meanwhile). A dropped frame cannot be brought back
by an undo (its text is still there).
"""

from __future__ import annotations

from core.capture.frame_files import OVERHEAD
from core.consolidate.context import RunContext


def run(ctx: RunContext) -> None:
    totals = ctx.ledger.media_totals()
    target = int(ctx.media_budget_bytes * ctx.settings.media_target_fraction)
    if totals is None or totals.bytes <= target:
        return
    recorded = ctx.ledger.recorded_frame_ids()
    excess = totals.bytes - target
    dropped: list[tuple[str, int]] = []
    for frame in ctx.frames.list():
        if excess <= 0:
            break
        frame_id = frame.name.rsplit("/", 1)[-1].removesuffix(".webp")
        if frame_id in recorded:
            on_disk = frame.size + OVERHEAD
            dropped.append((frame.name, on_disk))
            excess -= on_disk
    ctx.report.frames_dropped += len(dropped)
    if dropped:
        ctx.note(
            f"drop {len(dropped)} screenshot(s) whose text is kept "
            f"({sum(s for _n, s in dropped)} bytes)"
        )
    if ctx.dry_run:
        return
    for name, _planned in dropped:
        freed = ctx.frames.remove(name)
        if freed:
            ctx.ledger.count_media(-1, -freed)

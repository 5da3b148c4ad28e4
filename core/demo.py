"""A small demo store for `rememora gui --screenshots` and for looking at the app: a few
days of invented chat turns and screen frames (drawn here, generic), their raw episodic
records, a few typed memories of each kind written by the actor ``demo`` (no model
needed), a vault entry filed by the write path's own detector, a changed fact that
consolidation holds for confirmation, and the log of two earlier consolidation runs (their
figures invented, as the rest is). Nothing here comes from a benchmark."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

from core.capture.frame_files import FrameFiles
from core.ingest.batch_extraction import BatchExtraction, pattern_vault_candidates
from core.ingest.pipeline import IngestReport, apply_extraction, sync_index
from core.ingest.reconcile import Reconciler
from core.records import EventKind, MemoryType, NewEvent, NewMemory

if TYPE_CHECKING:
    from core.service import Service
    from core.store.write import StoreWrite

USER = "Sam"
# (days ago, hour, minute, speaker, text)
CHATS = (
    (3, 9, 12, "user", "My dentist appointment moved to Thursday at 9:30 with Dr. Okafor."),
    (3, 9, 14, "assistant", "Noted: dentist on Thursday at 9:30 with Dr. Okafor."),
    (
        2,
        18,
        40,
        "user",
        "I'm training for the river half marathon in October; long runs on Sundays.",
    ),
    (1, 20, 5, "user", "The spare key is with my neighbour Priya in flat 3B."),
    (1, 20, 7, "user", "The wifi password is tulip-harbor-42."),
    (0, 8, 30, "user", "Book club this month reads The Left Hand of Darkness."),
)
# (days ago, hour, minute, app, title, lines on screen, colour)
FRAMES = (
    (
        3,
        10,
        2,
        "firefox",
        "Sourdough starter guide — Firefox",
        [
            "Sourdough starter, day 3",
            "Feed equal parts flour and water",
            "every 12 hours at room temperature.",
            "Bubbles and a tangy smell mean it is ready.",
        ],
        "#e8f0fe",
    ),
    (
        3,
        14,
        25,
        "code",
        "budget.py — Visual Studio Code",
        [
            "def monthly_total(items):",
            "    return sum(i.amount for i in items)",
            "",
            "# rent 1200, groceries 380, transit 64",
        ],
        "#1e1e1e",
    ),
    (
        2,
        11,
        40,
        "thunderbird",
        "Invoice 2291 from Lumen Studio — Thunderbird",
        [
            "Invoice 2291",
            "Design work for the spring newsletter",
            "Amount due: 640.00 EUR",
            "Due date: the 28th",
        ],
        "#fdfdfd",
    ),
    (
        1,
        9,
        15,
        "firefox",
        "Flights to Oslo — Firefox",
        [
            "SK 4607  Lisbon -> Oslo",
            "Departs 07:40, arrives 12:55",
            "Gate B12, seat 14C",
            "Booking reference QX7P2L",
        ],
        "#e8f0fe",
    ),
    (
        1,
        16,
        50,
        "libreoffice",
        "Trip packing list.odt — LibreOffice",
        ["Packing for Oslo", "- rain jacket", "- charger and adapter", "- passport"],
        "#ffffff",
    ),
    (
        0,
        10,
        5,
        "firefox",
        "River half marathon — training plan",
        [
            "Week 6 of 12",
            "Tuesday: 6 km easy",
            "Thursday: intervals 5 x 800 m",
            "Sunday: long run 16 km",
        ],
        "#e8f0fe",
    ),
)
# (type, text, days ago, words that find its source records)
TYPED = (
    (
        MemoryType.SEMANTIC,
        "Sam's neighbour Priya lives in flat 3B and keeps the spare key.",
        1,
        "Priya",
    ),
    (
        MemoryType.SEMANTIC,
        "Sam is training for the river half marathon in October.",
        2,
        "half marathon",
    ),
    (
        MemoryType.PROCEDURAL,
        "To keep a sourdough starter: feed equal parts flour and water every 12 hours.",
        3,
        "Sourdough",
    ),
    (
        MemoryType.RESOURCE,
        "Invoice 2291 from Lumen Studio: 640.00 EUR for the spring newsletter design.",
        2,
        "Invoice 2291",
    ),
    (
        MemoryType.EPISODIC,
        "Sam booked flight SK 4607 from Lisbon to Oslo, departing 07:40, seat 14C.",
        1,
        "SK 4607",
    ),
    (
        MemoryType.SEMANTIC,
        "Sam's dentist is Dr. Okafor; the next appointment is Thursday at 9:30.",
        3,
        "Okafor",
    ),
)


def _frame_image(title: str, lines: list[str], colour: str) -> bytes:
    """A window-like picture: a title bar and the lines of text on a page."""
    image = Image.new("RGB", (1280, 800), "#d9dde3")
    draw = ImageDraw.Draw(image)
    dark = colour.lower() in ("#1e1e1e",)
    draw.rectangle((40, 30, 1240, 770), fill=colour, outline="#9aa3ad")
    draw.rectangle((40, 30, 1240, 74), fill="#3c4650")
    title_font = ImageFont.load_default(size=22)
    body_font = ImageFont.load_default(size=34)
    draw.text((64, 40), title.replace("—", "-"), fill="#ffffff", font=title_font)
    for row, line in enumerate(lines):
        draw.text((90, 130 + row * 64), line, fill="#d4d4d4" if dark else "#222222", font=body_font)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=60)
    return buffer.getvalue()


def fill_demo(service: Service, now: datetime) -> None:
    """Write the demo into an empty store (its raw records, typed memories, a vault
    entry, frames under the media folder; everything indexed)."""
    local = now.astimezone()

    def at(days: int, hour: int, minute: int) -> datetime:
        return (local - timedelta(days=days)).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )

    events = [
        NewEvent(EventKind.CHAT, text, at(d, h, m), speaker, "chat")
        for d, h, m, speaker, text in CHATS
    ]
    frames = FrameFiles(service.data_dir / "media", service.runtime.frame_cipher)
    for seq, (d, h, m, app, title, lines, colour) in enumerate(FRAMES, start=1):
        moment = at(d, h, m)
        name = f"{moment:%Y-%m-%d}/{moment:%Y%m%dT%H%M%S%f}-{seq:06d}.webp"
        size = frames.write(name, [_frame_image(title, lines, colour)])
        service.store.count_media(1, size)
        text = f"[{app}] {title}\n" + "\n".join(lines)
        payload = {
            "app": app,
            "title": title,
            "frame_id": name,
            "media_path": str(frames.path_of(name)),
        }
        events.append(NewEvent(EventKind.SCREEN, text, moment, None, "screen", payload))
    service.add_events(events)
    service.record_events()
    runtime = service.runtime
    reconciler = Reconciler(service.store, runtime.index, runtime.embedder, runtime.cipher)
    for batch in service.store.pending_batches():
        found = BatchExtraction(
            (),
            (MemoryType.VAULT,),
            tuple(pattern_vault_candidates(service.events(list(batch.event_ids)))),
        )
        apply_extraction(service.store, reconciler, batch.id, found, IngestReport())
    raw = service.list_memories(MemoryType.EPISODIC)
    with service.store.write(actor="demo") as tx:
        for memory_type, text, days, cue in TYPED:
            sources = tuple(e for m in raw if cue in m.text for e in m.source_event_ids)
            tx.memories.add(
                NewMemory(memory_type, text, at(days, 12, 0), sources, {}, importance=0.6),
                reason="demo data",
            )
        tx.memories.add(
            NewMemory(
                MemoryType.CORE,
                f"The user is {USER}. Lives in Lisbon; runs; bakes sourdough; travels to Oslo soon.",
                None,
                (),
                {"block": "human"},
            ),
            reason="demo data",
        )
        _held_fact(tx, at)
    marks = service.store.marks()
    with service.store.write(actor="consolidation") as tx:
        for run_id, days, report in RUNS:
            tx.runs.start(run_id, *marks, at=at(days, 3, 0))
            tx.runs.finish(run_id, "done", report, at=at(days, 3, 4))
    sync_index(service.store, runtime.index, runtime.embedder)


# (run id, days ago, report): two nights of sleep-time consolidation as the insights plot it
RUNS: tuple[tuple[str, int, dict[str, object]], ...] = (
    (
        "c-demo0001",
        2,
        {
            "merged": 2,
            "summarised": 3,
            "superseded": 1,
            "archived": 0,
            "held": 0,
            "tokens_before": 1840,
            "tokens_after": 1510,
        },
    ),
    (
        "c-demo0002",
        1,
        {
            "merged": 1,
            "summarised": 2,
            "superseded": 0,
            "archived": 1,
            "held": 1,
            "tokens_before": 1690,
            "tokens_after": 1545,
        },
    ),
)


def _held_fact(tx: StoreWrite, at: Callable[[int, int, int], datetime]) -> None:
    """An established fact and a newer one that disagrees with it, held for the user."""
    key = {"subject": USER, "attribute": "book club day", "key": "sam|book club day"}
    old = tx.memories.add(
        NewMemory(
            MemoryType.SEMANTIC,
            f"{USER}'s book club meets on Tuesday evenings.",
            at(1, 20, 30),
            (),
            {**key, "value": "Tuesday"},
            importance=0.6,
        ),
        reason="demo data",
    )
    tx.memories.add(
        NewMemory(
            MemoryType.SEMANTIC,
            f"{USER}'s book club now meets on Wednesday evenings.",
            at(0, 8, 31),
            (),
            {**key, "value": "Wednesday", "needs_confirmation": "true", "contradicts": old.id},
            importance=0.6,
        ),
        reason="demo data: held for confirmation",
    )

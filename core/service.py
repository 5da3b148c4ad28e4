"""The one door into the core. The CLI and the GUI call these verbs; nothing outside
``core`` touches the ledger, Chroma or the models directly.

Opening a :class:`Service` takes the data directory's lock; the embedder, the index and
the LLM load lazily on first use, so `rememora status` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType

import numpy as np

from core import health
from core.answering.answer import Answer, MemoryOrder, answer
from core.archive.export import ExportOptions, ExportReport, export_archive
from core.archive.import_ import ImportReport, import_archive
from core.archive.sealing import is_sealed
from core.archive.verify import AskPassphrase, verify_archive
from core.capture.media import count_frames
from core.capture.pipeline import CapturePipeline
from core.capture.recorder import CaptureHealth, Recorder, read_health
from core.capture.replay import ReplayReport, run_replay
from core.changes import Changes
from core.errors import RememoraError
from core.health import DoctorCheck, StatusReport
from core.identity import Identity, identity_from
from core.ingest.importers import MAX_SPEAKER_CHARS, MAX_TURN_CHARS, read_chat_file
from core.ingest.pipeline import IngestReport, process_pending, sync_index
from core.ingest.reconcile import Reconciler
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import (
    Event,
    EventId,
    EventKind,
    HistoryRow,
    Memory,
    MemoryId,
    MemoryType,
    NewEvent,
    NewMemory,
    SearchHit,
    utcnow,
)
from core.retrieval.search import RetrievalSettings, search
from core.runtime import Runtime
from core.settings import Settings, load_settings
from core.store.batches import Batch
from core.store.clock import Clock
from core.store.ledger import Ledger
from core.store.lock import DataDirLock
from core.store.paths import StorePaths
from core.store.vault import question_names_entry
from models.embedder import Embedder
from models.llm import LLM

__all__ = [
    "Clock",
    "DoctorCheck",
    "ExportOptions",
    "ExportReport",
    "ImportReport",
    "Service",
    "StatusReport",
]

PERSONA = (
    "I am Rememora, the user's private memory assistant. I run only on this computer and "
    "answer from what the user chatted and saw, citing my sources."
)


class Service:
    """The verbs. ``store`` (the ledger) and ``runtime`` (models and index) are for the
    evaluation layer and tests; the GUI and the CLI use the verbs alone."""

    def __init__(
        self,
        data_dir: Path,
        *,
        settings: Settings | None = None,
        llm: LLM | None = None,
        embedder: Embedder | None = None,
        clock: Clock = utcnow,
    ) -> None:
        paths = StorePaths(data_dir)
        self._lock = DataDirLock(paths)
        self._lock.acquire()
        try:
            self.settings = settings or load_settings(data_dir)
            self.store = Ledger(paths.ledger, clock=clock)
        except BaseException:
            self._lock.release()
            raise
        try:
            if self.store.media_totals() is None:  # a store from before the counters
                self.store.set_media_totals(count_frames(paths.media))
        except BaseException:
            self.store.close()
            self._lock.release()
            raise
        self.runtime = Runtime(paths, self.settings, llm=llm, embedder=embedder)
        self._paths = paths
        self._clock = clock
        self._memory_order = MemoryOrder()  # recurring memories first: their KV is reused
        self._seed_core()

    # -- lifecycle ------------------------------------------------------------------
    def close(self) -> None:
        self.runtime.close()
        self.store.close()
        self._lock.release()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.close()

    @property
    def data_dir(self) -> Path:
        return self._paths.root

    @property
    def identity(self) -> Identity:
        """Who the user is (settings ``[user]``); every spelling of the user's speaker
        is stored as ``user``."""
        return identity_from(self.settings.user.name, self.settings.user.aliases)

    def _seed_core(self) -> None:
        if self.store.list_memories(MemoryType.CORE, include_inactive=True):
            return
        with self.store.write(actor="system") as tx:
            tx.memories.add(
                NewMemory(MemoryType.CORE, PERSONA, None, (), {"block": "persona"}),
                reason="initial persona block",
            )

    def load_llm(self, progress: Progress = NULL_PROGRESS) -> LLM:
        """Load the configured model now (its file assembled and verified on first use)."""
        return self.runtime.load_llm(progress)

    def load_models(
        self, *, llm: bool = True, ocr: bool = False, progress: Progress = NULL_PROGRESS
    ) -> None:
        """Load the embedder (and the LLM, the OCR engine) now rather than on first use, so
        a benchmark or a first question does not pay for it."""
        self.runtime.embedder.embed(["warm up"])
        if llm:
            self.runtime.load_llm(progress)
        if ocr:
            self.runtime.ocr.read(np.zeros((32, 32, 3), np.uint8))

    # -- capture ----------------------------------------------------------------------
    def add_chat_turn(self, speaker: str, text: str, at: datetime | None = None) -> EventId:
        if not speaker.strip() or not text.strip():
            raise RememoraError("a chat turn needs a speaker and some text")
        if len(text) > MAX_TURN_CHARS or len(speaker) > MAX_SPEAKER_CHARS:
            raise RememoraError(
                f"a chat turn may have at most {MAX_TURN_CHARS} characters "
                f"and a speaker name at most {MAX_SPEAKER_CHARS}"
            )
        event = NewEvent(
            EventKind.CHAT, text.strip(), at or self._clock(), speaker.strip(), source="chat"
        )
        return self.store.append_events(self.identity.canonical_events([event]))[0]

    def add_events(self, events: Sequence[NewEvent]) -> list[EventId]:
        """Append observed events (with their own times, speakers and payloads) in one
        transaction; ``ingest`` turns them into memories."""
        return self.store.append_events(self.identity.canonical_events(events))

    def import_chat(self, path: Path) -> tuple[list[EventId], int]:
        """Validate the whole file (JSON lines, ChatGPT export or LOCOMO), then append its
        turns in one transaction, skipping turns already imported (same time, speaker,
        source and text), so importing a newer export of the same chats adds only what is
        new. Returns the new events' ids and how many turns were skipped."""
        return self.store.append_new_events(self.identity.canonical_events(read_chat_file(path)))

    # -- screen capture -----------------------------------------------------------------
    def capture_pipeline(self, source: str = "screen", naive: bool = False) -> CapturePipeline:
        """Gate, dedup, media store and background OCR, appending screen events."""
        return CapturePipeline(
            self.settings.capture,
            self._paths.media,
            self.runtime.ocr,
            self.store.append_events,
            source,
            naive,
            media_counter=self.store.count_media,
        )

    def open_recorder(self, display: str | None = None) -> Recorder:
        """A capture loop on the X display (not started); raises if there is no screen."""
        from core.capture.x11 import ScreenGrabber, X11Windows

        windows = X11Windows(display)
        try:
            grabber = ScreenGrabber(self.settings.capture.monitor, display)
        except RememoraError:
            windows.close()
            raise
        return Recorder(
            self.capture_pipeline(), grabber, windows, self._paths.capture_health, self._clock
        )

    def capture_health(self) -> CaptureHealth | None:
        """The last health the capture loop wrote (None: never captured here), with
        ``last_frame_age_s`` as of now."""
        health = read_health(self._paths.capture_health)
        return health.with_age(self._clock()) if health is not None else None

    def replay(
        self,
        folder: Path,
        naive: bool = False,
        limit_sessions: int | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> ReplayReport:
        """Feed a screenshot folder through the capture pipeline and the write path (raw
        episodic records of the screen text; typed extraction is left to `ingest`). With a
        session index only its sessions' frames (the first ``limit_sessions``); scoring
        retrieval on them is evaluation/replay.py's."""
        return run_replay(
            folder,
            lambda: self.capture_pipeline("replay", naive),
            lambda p: self.record_events(p),
            limit_sessions,
            progress,
        )

    def source_frame(self, hit: SearchHit) -> str | None:
        """The screenshot file a hit's memory was made from (a replayed frame), or None
        when none of its source events came from a file."""
        for event in self.events(list(hit.memory.source_event_ids)):
            if source := event.payload.get("source_file"):
                return source
        return None

    # -- write path ---------------------------------------------------------------------
    def ingest(self, progress: Progress = NULL_PROGRESS) -> IngestReport:
        """Record pending events, then extract typed memories from their batches with the
        LLM and reconcile them (batches that fail are retried on later runs)."""
        reconciler = Reconciler(
            self.store, self.runtime.index, self.runtime.embedder, self.runtime.cipher
        )
        return process_pending(
            self.store,
            self.runtime.index,
            self.runtime.embedder,
            progress,
            reconciler=reconciler,
            load_llm=lambda: self.runtime.json_llm(progress),
            now=self._clock,
            cipher=self.runtime.cipher,
        )

    def batches(self) -> list[Batch]:
        """Every extraction batch: its events, what routed it where, its ops and state."""
        return self.store.all_batches()

    def pending_ingest(self) -> int:
        """Events not yet recorded plus batches not yet extracted: work for `ingest`."""
        return self.store.count_events().get("pending", 0) + self.store.count_batches().get(
            "pending", 0
        )

    def record_events(self, progress: Progress = NULL_PROGRESS) -> IngestReport:
        """Only the raw episodic records (fast, no LLM); extraction waits for `ingest`."""
        return process_pending(
            self.store,
            self.runtime.index,
            self.runtime.embedder,
            progress,
            cipher=self.runtime.cipher,
        )

    def vault_value(self, memory_id: MemoryId) -> str:
        """The decrypted value of a vault entry."""
        memory = self.store.get(memory_id)
        if memory.type is not MemoryType.VAULT or "value" not in memory.fields:
            raise RememoraError(f"{memory_id} is not a vault entry")
        return self.runtime.cipher.decrypt(memory.fields["value"])

    # -- read path ----------------------------------------------------------------------
    def list_memories(
        self, memory_type: MemoryType | None = None, include_inactive: bool = False
    ) -> list[Memory]:
        return self.store.list_memories(memory_type, include_inactive)

    def get(self, memory_id: MemoryId) -> Memory:
        return self.store.get(memory_id)

    def memories(self, ids: Sequence[MemoryId]) -> list[Memory]:
        """The memories with these ids, in that order; ids not in the store are left out."""
        found = self.store.get_many(list(ids))
        return [found[memory_id] for memory_id in ids if memory_id in found]

    def history(self, memory_id: MemoryId) -> list[HistoryRow]:
        self.store.get(memory_id)
        return self.store.history(memory_id)

    def search(
        self, query: str, limit: int | None = None, now: datetime | None = None
    ) -> list[SearchHit]:
        """Hybrid retrieval; ``now`` is when the question is asked (for "last week")."""
        cfg = self.settings.retrieval
        top_k = limit or cfg.top_k
        return search(
            query,
            self.store,
            self.runtime.index,
            self.runtime.embedder,
            RetrievalSettings(
                top_k=top_k, candidates=max(60, 3 * top_k), min_similarity=cfg.min_similarity
            ),
            now=now or self._clock(),
        )

    def events(self, ids: Sequence[EventId]) -> list[Event]:
        return self.store.events(ids)

    def ask(
        self,
        question: str,
        on_token: Callable[[str], None],
        progress: Progress = NULL_PROGRESS,
    ) -> Answer:
        """Process pending events (so a turn added a moment ago counts), retrieve, and
        stream the answer through ``on_token``."""
        if not question.strip():
            raise RememoraError("the question is empty")
        llm = self.runtime.llm_worker(progress)  # first: a broken model must not half-run the ask
        recorded = self.record_events(progress)
        hits = self.search(question)
        core = self.store.list_memories(MemoryType.CORE)

        def forward(piece: str) -> None:
            check_cancelled(progress)  # stops the generation: the worker job is cancelled
            on_token(piece)

        result = answer(
            question,
            hits,
            core,
            llm,
            self._clock(),
            self.settings.llm.max_answer_tokens,
            forward,
            order=self._memory_order,
            vault_values=self.requested_vault_values(question, hits),
        )
        self.store.record_access(list(result.sources))
        touched = Changes.of_memories({memory.type for memory in result.memories})
        return replace(result, changes=Changes.of_ingest(recorded) | touched)

    def requested_vault_values(
        self, question: str, hits: Sequence[SearchHit]
    ) -> dict[MemoryId, str]:
        """Decrypted values of the retrieved vault entries that ``question`` asks for
        (and of no others): what the answer prompt may show."""
        return {
            hit.memory.id: self.vault_value(hit.memory.id)
            for hit in hits
            if hit.memory.type is MemoryType.VAULT
            and question_names_entry(
                question,
                hit.memory.fields.get("label", ""),
                hit.memory.fields.get("vault_type", ""),
            )
        }

    # -- export and import ------------------------------------------------------------
    def export_archive(
        self, out: Path, options: ExportOptions, progress: Progress = NULL_PROGRESS
    ) -> ExportReport:
        """Write the store (the events, memories of ``options.types`` with their history,
        the screenshots) as one archive; sealed with AES-GCM when a passphrase is given."""
        return export_archive(
            self.store,
            self._paths.media,
            out,
            options,
            self.runtime.cipher.decrypt,
            self.settings.embedder.model,
            self._clock(),
            progress,
        )

    def is_encrypted_archive(self, path: Path) -> bool:
        """Whether ``path`` is an archive sealed with a passphrase (reads its first bytes;
        the GUI asks for the passphrase before the import starts)."""
        try:
            with path.open("rb") as handle:
                return is_sealed(handle.read(64))
        except OSError:
            return False  # the import itself names the problem

    def import_archive(
        self,
        path: Path,
        ask_passphrase: AskPassphrase | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> ImportReport:
        """Verify the whole archive, then import it in one unit of work (duplicates of
        what the store holds are skipped), then embed what came in with the local
        embedder. ``ask_passphrase`` is called once, only for an encrypted archive."""
        archive = verify_archive(path, ask_passphrase, progress)
        cipher = self.runtime.cipher
        report = import_archive(
            self.store,
            self._paths.media,
            archive,
            cipher.encrypt,
            cipher.decrypt,
            self.settings.embedder.model,
            progress,
        )
        reembedded = sync_index(self.store, self.runtime.index, self.runtime.embedder, progress)
        return replace(report, reembedded=reembedded)

    # -- health -------------------------------------------------------------------------
    def status(self) -> StatusReport:
        return health.status(self.store, self.runtime)

    def doctor(
        self, reindex: bool = False, progress: Progress = NULL_PROGRESS
    ) -> list[DoctorCheck]:
        return health.doctor(self.store, self.runtime, self._lock, reindex, progress)

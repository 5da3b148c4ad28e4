"""The one door into the core. The CLI and the GUI call these verbs; nothing outside
``core`` touches the ledger, Chroma or the models directly.

Opening a :class:`Service` takes the data directory's lock and opens the store's data
key (core.store.keys: the OS keyring, else a passphrase), then brings an older store up to
the at-rest protection (vault values and screenshots sealed under that key, files
owner-only). The embedder, the index and the LLM load lazily on first use, so
`rememora status` stays fast. The process's umask is made owner-only (077) first, so every
file Rememora or its libraries (SQLite, Chroma) create is 0600 and every folder 0700.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import TracebackType

import numpy as np

from core import health
from core.answering.answer import Answer, MemoryOrder, answer
from core.answering.arithmetic import compute
from core.archive.export import ExportOptions, ExportReport, export_archive
from core.archive.import_ import ImportReport, import_archive
from core.archive.sealing import is_sealed
from core.archive.verify import AskPassphrase, verify_archive
from core.capture.frame_files import SUFFIX as FRAME_SUFFIX
from core.capture.frame_files import FrameFiles
from core.capture.media import GB, count_frames
from core.capture.pipeline import CapturePipeline
from core.capture.recorder import CaptureHealth, Recorder, read_health
from core.capture.replay import ReplayReport, run_replay
from core.changes import Changes
from core.consolidate.report import ConsolidationReport
from core.consolidate.runner import Consolidator
from core.consolidate.schedule import ConsolidationSchedule, Finished
from core.consolidate.undo import UndoReport, undo_run
from core.desktop import (
    ASK_SOURCE,
    AskTurn,
    Frame,
    HeldFact,
    Insights,
    MemoryQuery,
    RangeDeletion,
    RunPoint,
    contradicted_ids,
    filter_and_sort,
    is_held,
    is_pinned,
    memory_time,
    pair_ask_turns,
)
from core.errors import ConsolidationError, LockedError, RememoraError
from core.health import DoctorCheck, StatusReport
from core.identity import Identity, identity_from
from core.ingest.importers import MAX_SPEAKER_CHARS, MAX_TURN_CHARS, read_chat_file
from core.ingest.pipeline import IngestReport, known_vault_values, process_pending, sync_index
from core.ingest.reconcile import Reconciler
from core.progress import NULL_PROGRESS, Progress, check_cancelled
from core.records import (
    Event,
    EventId,
    EventKind,
    EventStatus,
    HistoryRow,
    Memory,
    MemoryId,
    MemoryStatus,
    MemoryType,
    NewEvent,
    NewMemory,
    SearchHit,
    utcnow,
)
from core.retrieval.private import is_private, question_names_memory
from core.retrieval.search import RetrievalSettings, search
from core.runtime import Runtime
from core.settings import Settings, load_settings, update_settings
from core.store.at_rest import make_owner_only, make_owner_only_shallow, migrate_vault
from core.store.batches import Batch
from core.store.clock import Clock
from core.store.keys import DataKey, KeySource, throwaway_keys, use_throwaway_keys
from core.store.ledger import Ledger
from core.store.lock import DataDirLock
from core.store.paths import StorePaths
from core.store.runs import ConsolidationRun
from core.store.vault import question_names_entry
from core.store.write import StoreWrite
from gpu.offload_plan import OffloadPlan
from models.embedder import Embedder
from models.llm import LLM, JsonLLM, LlamaCppLLM
from models.llm_worker import Priority, queued_model

__all__ = [
    "Clock",
    "DoctorCheck",
    "ExportOptions",
    "ExportReport",
    "ImportReport",
    "KeySource",
    "Service",
    "StatusReport",
    "throwaway_keys",
    "use_throwaway_keys",
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
        keys: KeySource | None = None,
    ) -> None:
        """``keys``: where the data key's wrapping key may come from (the OS keyring by
        default; a passphrase prompt the CLI or the GUI passes)."""
        os.umask(os.umask(0o077) | 0o077)  # owner-only, for us and the libraries we run
        paths = StorePaths(data_dir)
        self._lock = DataDirLock(paths)
        self._consolidating = threading.Lock()  # one run (or undo) at a time, any thread
        self._lock.acquire()
        try:
            self.settings = settings or load_settings(data_dir)
            self._key = DataKey(paths.root, keys)
            self._key.open()
            self.store = Ledger(paths.ledger, clock=clock)
        except BaseException:
            self._lock.release()
            raise
        self.runtime = Runtime(paths, self.settings, self._key, llm=llm, embedder=embedder)
        try:
            self._bring_up_to_date(paths)
        except BaseException:
            self.store.close()
            self._lock.release()
            raise
        self._paths = paths
        self._clock = clock
        self._memory_order = MemoryOrder()  # recurring memories first: their KV is reused
        self._seed_core()

    def _bring_up_to_date(self, paths: StorePaths) -> None:
        """Seal what an older store kept in clear or under ``vault.key``; count the media
        of a store from before the counters; make the data directory owner-only (walked
        in full once, when the data key is made; after that the umask keeps it so)."""
        migrate_vault(self.store, paths.root, self.runtime.cipher)
        sealed = FrameFiles(paths.media, self.runtime.frame_cipher).migrate()
        if sealed or self.store.media_totals() is None:
            self.store.set_media_totals(count_frames(paths.media))
        if self._key.created:
            make_owner_only(paths.root)
        else:
            make_owner_only_shallow(paths.root)

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
        self._require_unlocked("capture")
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
        self._require_unlocked("capture")
        return self.store.append_events(self.identity.canonical_events(events))

    def import_chat(self, path: Path) -> tuple[list[EventId], int]:
        """Validate the whole file (JSON lines, ChatGPT export or LOCOMO), then append its
        turns in one transaction, skipping turns already imported (same time, speaker,
        source and text), so importing a newer export of the same chats adds only what is
        new. Returns the new events' ids and how many turns were skipped."""
        self._require_unlocked("importing chats")
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
            cipher=self.runtime.frame_cipher,
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
        self._require_unlocked("ingest")
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
            vault_values=self._vault_values(),
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
        self._require_unlocked("ingest")
        return process_pending(
            self.store,
            self.runtime.index,
            self.runtime.embedder,
            progress,
            vault_values=self._vault_values(),
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
        self,
        query: str,
        limit: int | None = None,
        now: datetime | None = None,
        include_archived: bool = False,
    ) -> list[SearchHit]:
        """Hybrid retrieval; ``now`` is when the question is asked (for "last week").
        A memory marked private is left out unless ``query`` names its subject;
        ``include_archived``: memories decay archived are searched too."""
        self._require_unlocked("search")
        cfg = self.settings.retrieval
        top_k = limit or cfg.top_k
        hits = search(
            query,
            self.store,
            self.runtime.index,
            self.runtime.embedder,
            RetrievalSettings(
                top_k=top_k, candidates=max(60, 3 * top_k), min_similarity=cfg.min_similarity
            ),
            now=now or self._clock(),
            include_archived=include_archived,
        )
        return [
            hit
            for hit in hits
            if not is_private(hit.memory) or question_names_memory(query, hit.memory)
        ]

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
        self._require_unlocked("answering")
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
            on_piece=lambda _piece: check_cancelled(progress),
            computed=compute(question, lambda side: self.search(side, limit=10), self._clock()),
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
        self._require_unlocked("export")
        return export_archive(
            self.store,
            self._frames(),
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
        self._require_unlocked("import")
        archive = verify_archive(path, ask_passphrase, progress)
        cipher = self.runtime.cipher
        report = import_archive(
            self.store,
            self._frames(),
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

    # -- lock and keys --------------------------------------------------------------------
    @property
    def locked(self) -> bool:
        """Whether the data key is out of memory (see :meth:`lock`)."""
        return self._key.locked

    @property
    def key_opened_by(self) -> str:
        """How the data key was last opened: ``keyring`` or ``passphrase``."""
        return self._key.opened_by

    def lock(self) -> None:
        """Drop the data key from memory. Until :meth:`unlock`: capture keeps nothing new
        (the recorder pauses, chat turns are refused), no screenshot or vault value can be
        read, and ask, search, ingest, export and import raise LockedError. The model's
        live context and in-RAM KV states of recent prompts (which may hold a vault value
        an answer used) are cleared too."""
        self._key.lock()
        self.runtime.forget_recent_prompts()

    def unlock(self, passphrase: str | None = None) -> None:
        """Open the data key again: with ``passphrase``, or (None) from the OS keyring,
        ``REMEMORA_PASSPHRASE`` or the prompt given at open. KeyUnavailableError when
        it cannot (a wrong passphrase); the app stays locked then."""
        self._key.unlock(passphrase)

    def needs_passphrase(self) -> bool:
        """Whether unlocking needs a passphrase typed (no keyring holds the key)."""
        return self._key.opened_by != "keyring"

    def _vault_values(self) -> list[str]:
        """The vault's values in clear, for masking them wherever an event spells one."""
        return known_vault_values(self.store, self.runtime.cipher.decrypt)

    def _require_unlocked(self, what: str) -> None:
        if self._key.locked:
            raise LockedError(what)

    def _frames(self) -> FrameFiles:
        return FrameFiles(self._paths.media, self.runtime.frame_cipher)

    def frame_image(self, name: str) -> bytes:
        """The WebP image of a kept screenshot (``YYYY-MM-DD/<frame id>.webp``), opened
        with the data key (LockedError while locked)."""
        self._require_unlocked("showing a screenshot")
        return self._frames().read_bytes(name)

    def set_private(self, memory_id: MemoryId, private: bool) -> Memory:
        """Mark (or unmark) a memory private: retrieval then uses it only for a question
        that names its subject. A change with its history row (actor ``user``)."""
        memory = self.store.get(memory_id)
        if is_private(memory) == private:
            return memory
        with self.store.write(actor="user") as tx:
            return tx.memories.update(
                memory,
                memory.text,
                {"private": "true" if private else "false"},
                (),
                "marked private" if private else "no longer private",
            )

    # -- consolidation --
    def _consolidator(self, progress: Progress) -> Consolidator:
        def load_llm() -> JsonLLM:
            return queued_model(self.runtime.llm_worker(progress), Priority.CONSOLIDATION)

        def count_tokens(text: str) -> int:
            return self.runtime.load_llm(progress).count_tokens(text)

        def context_tokens() -> int:
            llm = self.runtime.load_llm(progress)
            return llm.n_ctx if isinstance(llm, LlamaCppLLM) else self.settings.llm.n_ctx

        return Consolidator(
            ledger=self.store,
            index=self.runtime.index,
            embedder=self.runtime.embedder,
            cipher=self.runtime.cipher,
            load_llm=load_llm,
            count_tokens=count_tokens,
            context_tokens=context_tokens,
            clock=self._clock,
            identity=self.identity,
            settings=self.settings.consolidation,
            frames=self._frames(),
            media_budget_bytes=int(self.settings.capture.media_budget_gb * GB),
        )

    def consolidate(
        self, dry_run: bool = False, progress: Progress = NULL_PROGRESS
    ) -> ConsolidationReport:
        """One sleep-time consolidation run over what changed since the last one (see
        core/consolidate/runner.py); ``dry_run``: decide, report, write nothing. Its model
        calls wait in the worker's queue behind questions and ingest. One run at a time:
        while another runs (the schedule's, or one started from the app) it raises
        ConsolidationError at once."""
        with self._one_consolidation():
            return self._consolidator(progress).run(dry_run=dry_run, progress=progress)

    def undo_consolidation(self, run_id: str, progress: Progress = NULL_PROGRESS) -> UndoReport:
        """Put every memory a run touched back as it was before it, the index included."""
        with self._one_consolidation():
            return undo_run(self.store, self.runtime.index, self.runtime.embedder, run_id, progress)

    @contextlib.contextmanager
    def _one_consolidation(self) -> Iterator[None]:
        if not self._consolidating.acquire(blocking=False):
            raise ConsolidationError("a consolidation run is in progress; try again when it ends")
        try:
            yield
        finally:
            self._consolidating.release()

    def consolidation_runs(self) -> list[ConsolidationRun]:
        return self.store.consolidation_runs()

    def events_since_consolidation(self) -> int:
        """Events appended since the last finished consolidation run started."""
        last = self.store.last_consolidation()
        return self.store.marks()[0] - (last.last_event_id if last else 0)

    def consolidation_schedule(self, finished: Finished | None = None) -> ConsolidationSchedule:
        """The background schedule the desktop app starts and stops (not started)."""
        return ConsolidationSchedule(
            self.settings.consolidation,
            lambda progress: self.consolidate(progress=progress),
            self.events_since_consolidation,
            finished,
        )

    # -- desktop app --------------------------------------------------------------------
    # The views of `rememora gui` read and correct memory through these; every memory
    # change goes through the one writer with actor ``user`` and reaches the index.
    def browse_memories(self, query: MemoryQuery) -> list[Memory]:
        """One tab of the memories view: hybrid search when the query has text (its
        relevance order), else every memory of the type; then the query's filters and
        sort. Vault entries stay masked (their values are in ``fields``, encrypted)."""
        if query.text.strip():
            hits = self.search(query.text, limit=min(100, query.limit))
            found = [hit.memory for hit in hits if hit.memory.type is query.memory_type]
            if MemoryStatus.ACTIVE not in query.statuses:
                found = []
        else:
            found = self.store.list_memories(query.memory_type, include_inactive=True)
        sources_of: dict[MemoryId, frozenset[str]] = {}
        if query.sources:
            ids = sorted({e for m in found for e in m.source_event_ids})
            source = {e.id: e.source or e.kind.value for e in self._events_chunked(ids)}
            sources_of = {
                m.id: frozenset(source[e] for e in m.source_event_ids if e in source) for m in found
            }
        return filter_and_sort(found, query, sources_of)

    def _events_chunked(self, ids: Sequence[EventId]) -> list[Event]:
        return [
            e for start in range(0, len(ids), 500) for e in self.events(ids[start : start + 500])
        ]

    def _reindex(self, memory: Memory) -> None:
        """The index follows a user's change now: the new text embedded, or a memory no
        longer active taken out."""
        if memory.status is MemoryStatus.ACTIVE:
            sync_index(self.store, self.runtime.index, self.runtime.embedder)
        else:
            self.runtime.index.delete(memory.type, [memory.id])
            self.store.mark_indexed([memory.id])

    def edit_memory(
        self, memory_id: MemoryId, text: str, reason: str = "edited by the user"
    ) -> Memory:
        """The user's correction of a memory's text: version + 1, history with actor
        ``user``, the index updated. Vault values are not edited here (delete the entry
        and tell Rememora the new value)."""
        text = text.strip()
        if not text:
            raise RememoraError("a memory needs some text")
        if len(text) > MAX_TURN_CHARS:
            raise RememoraError(f"a memory may have at most {MAX_TURN_CHARS} characters")
        with self.store.write(actor="user") as tx:
            memory = tx.memories.get(memory_id)
            if memory.status is not MemoryStatus.ACTIVE:
                raise RememoraError(
                    f"{memory_id} is {memory.status.value}; only active memories are edited"
                )
            if memory.type is MemoryType.VAULT:
                raise RememoraError("a vault entry's value is not edited here; delete it instead")
            if text == memory.text:
                return memory
            edited = tx.memories.update(memory, text, {}, (), reason)
        self._reindex(edited)
        return edited

    def delete_memory(self, memory_id: MemoryId, reason: str = "deleted by the user") -> Memory:
        """Mark a memory deleted (its history stays, it leaves search and the index)."""
        with self.store.write(actor="user") as tx:
            memory = tx.memories.get(memory_id)
            if memory.status is MemoryStatus.DELETED:
                return memory
            if memory.type is MemoryType.CORE and memory.fields.get("block") == "persona":
                raise RememoraError("the persona block is edited, not deleted")
            deleted = tx.memories.delete(memory, reason)
        self._reindex(deleted)
        return deleted

    def pin_memory(self, memory_id: MemoryId, pinned: bool = True) -> Memory:
        """Pin a memory (listed first, kept by consolidation), or unpin it."""
        with self.store.write(actor="user") as tx:
            memory = tx.memories.get(memory_id)
            if is_pinned(memory) == pinned:
                return memory
            return tx.memories.pin(
                memory, pinned, "pinned by the user" if pinned else "unpinned by the user"
            )

    def held_facts(self) -> list[HeldFact]:
        """The facts consolidation holds for the user's confirmation, newest first, each
        with the active facts it contradicts (see `_contradicted`)."""
        active = self.store.list_memories(MemoryType.SEMANTIC)
        by_id = {m.id: m for m in active}

        def against(fact: Memory) -> tuple[Memory, ...]:
            if named := contradicted_ids(fact):
                return tuple(by_id[i] for i in named if i in by_id)
            key = fact.fields.get("key")
            return tuple(m for m in active if key and m.fields.get("key") == key and not is_held(m))

        held = sorted(filter(is_held, active), key=memory_time, reverse=True)
        return [HeldFact(fact, against(fact)) for fact in held]

    def _contradicted(self, tx: StoreWrite, fact: Memory) -> list[Memory]:
        """The active facts a held fact contradicts: those consolidation named, else
        (a fact held before it named them) the active facts with the same key."""
        named = contradicted_ids(fact)
        if named:
            olds = [tx.memories.get(i) for i in named if tx.memories.exists(i)]
        elif key := fact.fields.get("key"):
            olds = tx.memories.find_active_by_field(MemoryType.SEMANTIC, "key", key)
        else:
            olds = []
        return [m for m in olds if m.status is MemoryStatus.ACTIVE and not is_held(m)]

    @staticmethod
    def _require_held(fact: Memory) -> None:
        if fact.status is not MemoryStatus.ACTIVE or not is_held(fact):
            raise RememoraError(f"{fact.id} is not a fact held for confirmation")

    def confirm_fact(self, memory_id: MemoryId) -> Memory:
        """The user confirms a held fact: it becomes current (no longer held; version + 1)
        and supersedes the facts it contradicts, each with its history row (actor
        ``user``); the index follows."""
        with self.store.write(actor="user") as tx:
            fact = tx.memories.get(memory_id)
            self._require_held(fact)
            olds = self._contradicted(tx, fact)
            confirmed = tx.memories.update(
                fact,
                fact.text,
                {"needs_confirmation": "false"},
                (),
                f"confirmed by the user over {len(olds)} contradicting fact(s)",
            )
            retired = [
                tx.memories.retire(
                    old,
                    confirmed,
                    f"contradicted by {confirmed.id}, which the user confirmed: "
                    f"{old.fields.get('value', '')!r} -> {confirmed.fields.get('value', '')!r}",
                )
                for old in olds
            ]
        for memory in (*retired, confirmed):
            self._reindex(memory)
        return confirmed

    def reject_fact(self, memory_id: MemoryId) -> Memory:
        """The user rejects a held fact: it is deleted (its history stays, it leaves
        search and the index) and the facts it contradicted stay as they are."""
        with self.store.write(actor="user") as tx:
            fact = tx.memories.get(memory_id)
            self._require_held(fact)
            rejected = tx.memories.delete(
                fact, "rejected by the user: the established fact(s) it contradicts stay"
            )
        self._reindex(rejected)
        return rejected

    def _frame_location(self, event: Event) -> Path | None:
        """Where a screen event's image is: the kept frame (sealed; None once the storage
        budget deleted it) or, for a replayed frame, its source file."""
        for key in ("media_path", "source_file"):
            if (value := event.payload.get(key)) and Path(value).is_file():
                return Path(value)
        return None

    def frame_bytes(self, frame: Frame) -> bytes | None:
        """A frame's image: a kept frame opened with the data key (LockedError while
        locked), a replayed frame read from its file; None when it is no longer kept."""
        path = frame.image
        if path is None:
            return None
        try:
            if path.suffix == FRAME_SUFFIX:
                return self.frame_image(f"{path.parent.name}/{path.stem}.webp")
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def memory_sources(self, memory_id: MemoryId) -> list[Frame]:
        """A memory's source events (chat turns, screen frames with their images)."""
        memory = self.store.get(memory_id)
        return [
            Frame(e, self._frame_location(e)) for e in self.events(list(memory.source_event_ids))
        ]

    def conversation_around(self, event: Event, turns: int = 6) -> list[Event]:
        """The chat turns of the same source around ``event`` (its conversation)."""
        span = timedelta(hours=6)
        near = self.store.events_between(
            event.occurred_at - span, event.occurred_at + span, event.kind, event.source
        )
        at = next((i for i, e in enumerate(near) if e.id == event.id), 0)
        return near[max(0, at - turns) : at + turns + 1]

    def record_ask(self, question: str, result: Answer) -> tuple[EventId, EventId]:
        """Log a question and its answer as events (source ``ask``). They are written
        already processed: they never become memories, so past answers never feed later
        answers (a wrong answer cannot become evidence for itself)."""
        now = self._clock()
        with self.store.write(actor="user") as tx:
            asked = tx.events.append_archived(
                NewEvent(EventKind.CHAT, question, now, "user", ASK_SOURCE, {"role": "question"}),
                EventStatus.PROCESSED,
                0,
            )
            cited = ",".join(result.sources)
            answered = tx.events.append_archived(
                NewEvent(
                    EventKind.CHAT,
                    result.text,
                    now,
                    "assistant",
                    ASK_SOURCE,
                    {"role": "answer", "question": str(asked), "cited": cited},
                ),
                EventStatus.PROCESSED,
                0,
            )
        return asked, answered

    def ask_history(self, text: str = "", limit: int = 200) -> list[AskTurn]:
        """Past questions and answers, newest first; ``text`` filters (any word, any case)."""
        turns = pair_ask_turns(self.store.events_between(None, None, source=ASK_SOURCE))
        words = text.lower().split()
        if words:
            turns = [
                t
                for t in turns
                if all(
                    w in (t.question.text + " " + (t.answer.text if t.answer else "")).lower()
                    for w in words
                )
            ]
        return turns[:limit]

    def timeline_days(self) -> list[tuple[date, int]]:
        """Local days with captured frames and how many, newest first."""
        counts: dict[date, int] = {}
        for event in self.store.events_between(None, None, EventKind.SCREEN):
            day = event.occurred_at.astimezone().date()
            counts[day] = counts.get(day, 0) + 1
        return sorted(counts.items(), reverse=True)

    def timeline_frames(
        self, day: date, apps: frozenset[str] = frozenset(), hours: tuple[int, int] = (0, 24)
    ) -> list[Frame]:
        """One local day's frames, oldest first, optionally of some apps and hours."""
        start = datetime.combine(day, time(0)).astimezone()
        events = self.store.events_between(start, start + timedelta(days=1), EventKind.SCREEN)
        return [
            Frame(e, self._frame_location(e))
            for e in events
            if (not apps or e.payload.get("app", "") in apps)
            and hours[0] <= e.occurred_at.astimezone().hour < hours[1]
        ]

    def find_frames(self, query: str, limit: int = 20) -> list[Frame]:
        """Screen frames whose memories match ``query`` (hybrid retrieval), best first:
        what the timeline's search jumps to."""
        if not query.strip():
            return []
        seen: set[EventId] = set()
        frames: list[Frame] = []
        for hit in self.search(query, limit=limit):
            for event in self.events(list(hit.memory.source_event_ids)):
                if event.kind is EventKind.SCREEN and event.id not in seen:
                    seen.add(event.id)
                    frames.append(Frame(event, self._frame_location(event)))
        return frames

    def plan_delete_range(self, start: datetime, end: datetime) -> RangeDeletion:
        """What `delete_range` would remove, for the confirmation; changes nothing."""
        if start.tzinfo is None or end.tzinfo is None:
            raise RememoraError("a time range needs aware times")
        if end <= start:
            raise RememoraError("the time range ends before it starts")
        events = [e for e in self.store.events_between(start, end) if e.source != ASK_SOURCE]
        ids = {e.id for e in events}
        only, kept = [], 0
        for memory in self.store.memories_from_events(sorted(ids)):
            if set(memory.source_event_ids) <= ids:
                only.append(memory.id)
            else:
                kept += 1
        images = [
            Path(p) for e in events if (p := e.payload.get("media_path")) and Path(p).is_file()
        ]
        screen = sum(e.kind is EventKind.SCREEN for e in events)
        return RangeDeletion(
            start,
            end,
            tuple(sorted(ids)),
            screen,
            len(events) - screen,
            tuple(images),
            sum(p.stat().st_size for p in images),
            tuple(only),
            kept,
        )

    def delete_range(self, start: datetime, end: datetime) -> RangeDeletion:
        """Delete everything captured in ``[start, end)`` for good: the events (frames'
        text, chat turns), the frames' images, and the memories made only from them
        (rows and history content purged, one PURGE row each says who and why; they
        leave the index). Memories that also rest on other events stay."""
        plan = self.plan_delete_range(start, end)
        reason = f"time range {start.isoformat(timespec='minutes')} to {end.isoformat(timespec='minutes')} deleted by the user"
        gone = self.memories(list(plan.memories))
        with self.store.write(actor="user") as tx:
            for memory in gone:
                tx.memories.purge(memory, reason)
            tx.events.delete(plan.events)
            tx.batches.forget_events(plan.events)
            tx.compact_text_index()
        by_type: dict[MemoryType, list[MemoryId]] = {}
        for memory in gone:
            by_type.setdefault(memory.type, []).append(memory.id)
        for memory_type, ids in by_type.items():
            self.runtime.index.delete(memory_type, ids)
        freed = 0
        for image in plan.images:
            try:
                size = image.stat().st_size
                image.unlink()
            except OSError:
                continue
            freed += size
            self.store.count_media(-1, -size)
        self.store.checkpoint()
        return plan

    def insights(self) -> Insights:
        """Memories per type per day (the day each happened), capture by app and by hour,
        media against the budget, and the consolidation runs that finished and stand
        (not undone), oldest first."""
        per_day: dict[MemoryType, dict[date, int]] = {t: {} for t in MemoryType}
        for memory in self.store.list_memories(None):
            day = memory_time(memory).astimezone().date()  # when it happened
            counts = per_day[memory.type]
            counts[day] = counts.get(day, 0) + 1
        by_app: dict[str, int] = {}
        by_hour = [0] * 24
        screen = self.store.events_between(None, None, EventKind.SCREEN)
        for event in screen:
            app = event.payload.get("app", "") or "(unknown)"
            by_app[app] = by_app.get(app, 0) + 1
            by_hour[event.occurred_at.astimezone().hour] += 1
        media = self.store.media_totals()
        kept = [e.occurred_at for e in screen if e.payload.get("media_path")]
        return Insights(
            {t: sorted(c.items()) for t, c in per_day.items()},
            sorted(by_app.items(), key=lambda item: (-item[1], item[0])),
            by_hour,
            media.bytes if media else 0,
            int(self.settings.capture.media_budget_gb * 1e9),
            min(kept) if kept else None,
            max(kept) if kept else None,
            self._run_points(),
        )

    def _run_points(self) -> list[RunPoint]:
        points = [
            RunPoint.of_report(run.id, run.finished_at, run.report)
            for run in self.store.consolidation_runs()
            if run.status == "done" and run.finished_at is not None
        ]
        return sorted(points, key=lambda point: point.finished_at)

    def offload_plan(self) -> OffloadPlan:
        """How the configured model runs on this machine, and why (may assemble the
        model file on first use: call it off the UI thread)."""
        return self.runtime.offload_plan()

    def update_settings(self, changes: dict[str, dict[str, object]]) -> Settings:
        """Validate and save ``changes`` to settings.toml (atomically; a bad value is one
        `SettingsError` and nothing is written). Who the user is and the capture settings
        apply at once (to the next capture started); the model, index and ingest
        settings from the next start."""
        saved = update_settings(self.data_dir, changes)
        self.settings = self.settings.model_copy(
            update={"user": saved.user, "capture": saved.capture}
        )
        return saved

    def fill_demo(self) -> None:
        """Write the small demo store (core/demo.py) into this, an empty store."""
        from core.demo import fill_demo

        if self.store.count_events():
            raise RememoraError(f"{self.data_dir} is not empty: the demo goes into a new store")
        fill_demo(self, self._clock())

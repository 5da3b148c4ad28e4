"""The one door into the core. The CLI and the GUI call these verbs; nothing outside
``core`` touches the ledger, Chroma or the models directly.

Opening a :class:`Service` takes the data directory's lock; the embedder, the index and
the LLM load lazily on first use, so `rememora status` stays fast.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from core.answer import Answer, MemoryOrder, answer
from core.capture.pipeline import CapturePipeline
from core.capture.recorder import Recorder, last_frame_age_s, read_health
from core.capture.replay import ReplayReport, run_replay
from core.errors import ModelError, RememoraError
from core.evaluation.options import EvalOptions
from core import batch_log
from core.chat_formats import read_chat_file
from core.ingest import IngestReport, process_pending, sync_index
from core.ledger import Ledger
from core.lock import DataDirLock
from core.paths import StorePaths
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
from core.reconcile import Reconciler
from core.retrieve import RetrievalSettings, search
from core.settings import Settings, load_settings
from core.vault import VaultCipher, question_names_entry
from core.vector_index import ChromaIndex, VectorIndex
from gpu.devices import discover
from gpu.gguf_header import GGUFError, read_model_shape
from gpu.kv_state_cache import KVStateCache
from gpu.offload_plan import OffloadPlan, plan_offload
from models.assembly import check_gguf_header, ensure_model_file, verify
from models.embedder import Embedder, SentenceTransformerEmbedder
from models.llm import LLM, JsonLLM, LlamaCppLLM, RuntimeOptions
from models.llm_worker import LLMWorker, Priority, QueuedModel
from models.ocr import OcrEngine, RapidOcrEngine
from models.openai_llm import OpenAICompatibleLLM
from models.registry import LLM_MODELS, model_wheel_dir

if TYPE_CHECKING:
    from core.kv_bench import KVBenchResult

PERSONA = (
    "I am Rememora, the user's private memory assistant. I run only on this computer and "
    "answer from what the user chatted and saw, citing my sources."
)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class StatusReport:
    data_dir: Path
    memories: dict[MemoryType, int]
    events: dict[str, int]
    store_bytes: int
    llm: str
    embedder: str
    batches: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DoctorCheck:
    name: str
    ok: bool
    detail: str


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


class Service:
    def __init__(
        self, data_dir: Path, *, settings: Settings | None = None,
        llm: LLM | None = None, embedder: Embedder | None = None, clock: Clock = utcnow,
    ) -> None:
        self.paths = StorePaths(data_dir)
        self._lock = DataDirLock(self.paths)
        self._lock.acquire()
        try:
            self.settings = settings or load_settings(data_dir)
            self.ledger = Ledger(self.paths.ledger)
        except BaseException:
            self._lock.release()
            raise
        self._clock = clock
        self._llm = llm
        self._embedder = embedder
        self._index: VectorIndex | None = None
        self._ocr: OcrEngine | None = None
        self._worker: LLMWorker | None = None
        self._cipher: VaultCipher | None = None
        self._init_lock = threading.Lock()
        self._memory_order = MemoryOrder()  # recurring memories first: their KV is reused
        self._seed_core()

    # -- lifecycle ------------------------------------------------------------------
    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
        self.ledger.close()
        self._lock.release()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.close()

    def _seed_core(self) -> None:
        if self.ledger.list_memories(MemoryType.CORE, include_inactive=True):
            return
        with self.ledger.transaction() as db:
            self.ledger.insert_memory(
                db, NewMemory(MemoryType.CORE, PERSONA, None, (), {"block": "persona"}),
                actor="system", reason="initial persona block",
            )

    # -- lazily loaded runtimes -----------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._init_lock:
            if self._embedder is None:
                self._embedder = SentenceTransformerEmbedder(self.settings.embedder.model,
                                                            models_dir=self.paths.models)
            return self._embedder

    @property
    def index(self) -> VectorIndex:
        embedder = self.embedder
        with self._init_lock:
            if self._index is None:
                cfg = self.settings.index
                self._index = ChromaIndex(self.paths.chroma, embedder,
                                          host=cfg.chroma_host, port=cfg.chroma_port)
            return self._index

    @property
    def cipher(self) -> VaultCipher:
        with self._init_lock:
            if self._cipher is None:
                self._cipher = VaultCipher(self.paths.root)
            return self._cipher

    def llm_description(self) -> str:
        if self.settings.llm.base_url:
            return f"server at {self.settings.llm.base_url}"
        if self.settings.llm.model_path:
            return f"{Path(self.settings.llm.model_path).name} (user file)"
        return self.settings.llm.model

    def load_llm(self, progress: Progress = NULL_PROGRESS) -> LLM:
        """The configured LLM, its file assembled and verified on first use."""
        with self._init_lock:
            if self._llm is None and self.settings.llm.base_url:
                server = OpenAICompatibleLLM(self.settings.llm.base_url)
                server.model_id()  # reachable now, or one clear error
                self._llm = server
            if self._llm is None:
                cfg = self.settings.llm
                if cfg.model_path:
                    path = Path(cfg.model_path).expanduser()
                    check_gguf_header(path, path.name)
                    name = path.stem
                else:
                    name = cfg.model
                    path = ensure_model_file(
                        LLM_MODELS[name], self.paths.models, model_wheel_dir(), progress
                    )
                options, n_ctx = self._runtime_options(name, path)
                llm = LlamaCppLLM(
                    name, path, n_ctx=n_ctx, n_threads=cfg.n_threads, options=options,
                    state_cache=self._state_cache(),
                    model_sha256="" if cfg.model_path else LLM_MODELS[name].sha256)
                progress.update(0, None, f"loading {name}")
                llm.load()
                self._llm = llm
            return self._llm

    def _runtime_options(self, name: str, path: Path) -> tuple[RuntimeOptions, int]:
        """llama.cpp options and n_ctx from the offload plan for this machine."""
        try:
            plan = plan_offload(read_model_shape(path), discover(), self.settings.llm.n_ctx)
        except GGUFError as exc:
            raise ModelError(name, f"cannot load {path}: the file is damaged or not "
                             f"a GGUF model llama.cpp supports ({exc})") from None
        return RuntimeOptions(plan.n_gpu_layers, plan.offload_kqv, plan.flash_attn,
                              plan.type_id, plan.type_id), plan.n_ctx

    def model_path(self, progress: Progress = NULL_PROGRESS) -> Path:
        cfg = self.settings.llm
        if cfg.model_path:
            path = Path(cfg.model_path).expanduser()
            check_gguf_header(path, path.name)
            return path
        return ensure_model_file(LLM_MODELS[cfg.model], self.paths.models, model_wheel_dir(),
                                 progress)

    def offload_plan(self, progress: Progress = NULL_PROGRESS) -> OffloadPlan:
        """How the model runs on this machine (layers on the GPU, KV type, n_ctx) and why."""
        try:
            shape = read_model_shape(self.model_path(progress))
        except GGUFError as exc:
            raise ModelError(self.llm_description(), str(exc)) from None
        return plan_offload(shape, discover(), wanted_ctx=self.settings.llm.n_ctx)

    def _state_cache(self) -> KVStateCache | None:
        cfg = self.settings.llm
        if cfg.state_cache_ram_mb == 0 and cfg.state_cache_disk_mb == 0:
            return None
        return KVStateCache(cfg.state_cache_ram_mb << 20,
                            self.paths.kv_states if cfg.state_cache_disk_mb else None,
                            cfg.state_cache_disk_mb << 20)

    def llm_worker(self, progress: Progress = NULL_PROGRESS) -> LLMWorker:
        """The one worker that owns the model; every use of the LLM goes through its
        priority queue (question > ingest > consolidation)."""
        llm = self.load_llm(progress)
        with self._init_lock:
            if self._worker is None:
                self._worker = LLMWorker(llm)
            return self._worker

    # -- capture ----------------------------------------------------------------------
    def add_chat_turn(self, speaker: str, text: str, at: datetime | None = None) -> EventId:
        if not speaker.strip() or not text.strip():
            raise RememoraError("a chat turn needs a speaker and some text")
        event = NewEvent(EventKind.CHAT, text.strip(), at or self._clock(), speaker.strip(),
                         source="chat")
        return self.ledger.append_events([event])[0]

    def add_events(self, events: Sequence[NewEvent]) -> list[EventId]:
        """Append observed events (with their own times, speakers and payloads) in one
        transaction; ``ingest`` turns them into memories."""
        return self.ledger.append_events(events)

    def import_chat(self, path: Path) -> tuple[list[EventId], int]:
        """Validate the whole file (JSON lines, ChatGPT export or LOCOMO), then append its
        turns in one transaction, skipping turns already imported (same time, speaker,
        source and text), so importing a newer export of the same chats adds only what is
        new. Returns the new events' ids and how many turns were skipped."""
        return self.ledger.append_new_events(read_chat_file(path))

    # -- screen capture -----------------------------------------------------------------
    @property
    def ocr(self) -> OcrEngine:
        with self._init_lock:
            if self._ocr is None:
                self._ocr = RapidOcrEngine(self.settings.capture.ocr_threads)
            return self._ocr

    def capture_pipeline(self, source: str = "screen", naive: bool = False) -> CapturePipeline:
        """Gate, dedup, media store and background OCR, appending screen events."""
        return CapturePipeline(self.settings.capture, self.paths.media, self.ocr,
                               self.ledger.append_events, source, naive)

    def open_recorder(self, display: str | None = None) -> Recorder:
        """A capture loop on the X display (not started); raises if there is no screen."""
        from core.capture.x11 import ScreenGrabber, X11Windows

        windows = X11Windows(display)
        try:
            grabber = ScreenGrabber(self.settings.capture.monitor, display)
        except RememoraError:
            windows.close()
            raise
        return Recorder(self.capture_pipeline(), grabber, windows, self.paths.capture_health,
                        self._clock)

    def capture_health(self) -> dict[str, object] | None:
        """The last health the capture loop wrote (None: never captured here), with
        ``last_frame_age_s`` as of now."""
        health = read_health(self.paths.capture_health)
        if health is not None:
            health["last_frame_age_s"] = last_frame_age_s(health, self._clock())
        return health

    def replay(self, folder: Path, naive: bool = False, limit_sessions: int | None = None,
               progress: Progress = NULL_PROGRESS) -> ReplayReport:
        """Feed a screenshot folder through the capture pipeline and the write path (raw
        episodic records of the screen text; typed extraction is left to `ingest`); score
        retrieval when the folder has a session index."""
        def frame_of_hit(hit: SearchHit) -> str | None:
            for event in self.ledger.events(list(hit.memory.source_event_ids)):
                if event.payload.get("source_file"):
                    return event.payload["source_file"]
            return None

        return run_replay(folder, lambda: self.capture_pipeline("replay", naive),
                          lambda p: self.record_events(p), self.search, frame_of_hit,
                          limit_sessions, progress)

    # -- write path ---------------------------------------------------------------------
    def ingest(self, progress: Progress = NULL_PROGRESS) -> IngestReport:
        """Record pending events, then extract typed memories from their batches with the
        LLM and reconcile them (batches that fail are retried on later runs)."""
        reconciler = Reconciler(self.ledger, self.index, self.embedder, self.cipher)
        return process_pending(self.ledger, self.index, self.embedder, progress,
                               reconciler=reconciler, load_llm=lambda: self._json_llm(progress),
                               now=self._clock)

    def _json_llm(self, progress: Progress) -> JsonLLM:
        """The model through the worker's queue at ingest priority (a question goes first)."""
        llm = self.load_llm(progress)
        if not hasattr(llm, "complete_json"):
            raise ModelError(llm.name, "cannot answer with schema-constrained JSON")
        return QueuedModel(self.llm_worker(progress), Priority.INGEST)

    def pending_ingest(self) -> int:
        """Events not yet recorded plus batches not yet extracted: work for `ingest`."""
        return (self.ledger.count_events().get("pending", 0)
                + batch_log.count_batches(self.ledger).get("pending", 0))

    def record_events(self, progress: Progress = NULL_PROGRESS) -> IngestReport:
        """Only the raw episodic records (fast, no LLM); extraction waits for `ingest`."""
        return process_pending(self.ledger, self.index, self.embedder, progress)

    def vault_value(self, memory_id: MemoryId) -> str:
        """The decrypted value of a vault entry."""
        memory = self.ledger.get(memory_id)
        if memory.type is not MemoryType.VAULT or "value" not in memory.fields:
            raise RememoraError(f"{memory_id} is not a vault entry")
        return self.cipher.decrypt(memory.fields["value"])

    # -- read path ----------------------------------------------------------------------
    def list_memories(
        self, memory_type: MemoryType | None = None, include_inactive: bool = False
    ) -> list[Memory]:
        return self.ledger.list_memories(memory_type, include_inactive)

    def get(self, memory_id: MemoryId) -> Memory:
        return self.ledger.get(memory_id)

    def history(self, memory_id: MemoryId) -> list[HistoryRow]:
        self.ledger.get(memory_id)
        return self.ledger.history(memory_id)

    def search(self, query: str, limit: int | None = None,
               now: datetime | None = None) -> list[SearchHit]:
        """Hybrid retrieval; ``now`` is when the question is asked (for "last week")."""
        cfg = self.settings.retrieval
        top_k = limit or cfg.top_k
        return search(query, self.ledger, self.index, self.embedder,
                      RetrievalSettings(top_k=top_k, candidates=max(60, 3 * top_k),
                                        min_similarity=cfg.min_similarity),
                      now=now or self._clock())

    def events(self, ids: Sequence[EventId]) -> list[Event]:
        return self.ledger.events(ids)

    def ask(
        self, question: str, on_token: Callable[[str], None],
        progress: Progress = NULL_PROGRESS,
    ) -> Answer:
        """Process pending events (so a turn added a moment ago counts), retrieve, and
        stream the answer through ``on_token``."""
        if not question.strip():
            raise RememoraError("the question is empty")
        llm = self.llm_worker(progress)  # first: a broken model must not half-run the ask
        self.record_events(progress)
        hits = self.search(question)
        core = self.ledger.list_memories(MemoryType.CORE)
        def forward(piece: str) -> None:
            check_cancelled(progress)  # stops the generation: the worker job is cancelled
            on_token(piece)

        result = answer(question, hits, core, llm, self._clock(),
                        self.settings.llm.max_answer_tokens, forward, order=self._memory_order,
                        vault_values=self.requested_vault_values(question, hits))
        self.ledger.record_access(list(result.cited or result.context))
        return result

    def requested_vault_values(self, question: str,
                               hits: Sequence[SearchHit]) -> dict[MemoryId, str]:
        """Decrypted values of the retrieved vault entries that ``question`` asks for
        (and of no others): what the answer prompt may show."""
        return {hit.memory.id: self.vault_value(hit.memory.id) for hit in hits
                if hit.memory.type is MemoryType.VAULT
                and question_names_entry(question, hit.memory.fields.get("label", ""),
                                         hit.memory.fields.get("vault_type", ""))}

    # -- benchmarks -----------------------------------------------------------------------
    def bench_kv(self, model: str | None = None, repeats: int = 3, prefix_tokens: int = 1600,
                 memory_tokens: int = 800, progress: Progress = NULL_PROGRESS) -> KVBenchResult:
        """Time to first token with and without the KV state cache (core/kv_bench.py)."""
        from core.kv_bench import KVBenchResult, run_kv_bench

        spec = LLM_MODELS[model or self.settings.llm.model]
        path = ensure_model_file(spec, self.paths.models, model_wheel_dir(), progress)
        options, _ = self._runtime_options(spec.name, path)  # as the app would run it
        return KVBenchResult(run_kv_bench(
            spec.name, path, spec.sha256, n_ctx=max(4096, self.settings.llm.n_ctx),
            n_threads=self.settings.llm.n_threads, repeats=repeats,
            prefix_tokens=prefix_tokens, memory_tokens=memory_tokens, options=options,
            progress=progress))

    def evaluate(
        self, benchmark: str, path: Path, options: EvalOptions,
        conversations: Sequence[str] | None = None, embedder_name: str | None = None,
        progress: Progress = NULL_PROGRESS,
    ) -> dict[str, Any]:
        """Run a public retrieval benchmark ("locomo" or "longmemeval") through fresh
        temporary stores; this data directory is not touched (its LLM is reused for
        ``options.answer``)."""
        from core.evaluation.runs import run_benchmark

        embedder = (SentenceTransformerEmbedder(embedder_name, models_dir=self.paths.models)
                    if embedder_name else self.embedder)
        llm = self.load_llm(progress) if options.answer else None
        return run_benchmark(benchmark, path, embedder, self.settings, options,
                             conversations, llm, progress)

    # -- health -------------------------------------------------------------------------
    def status(self) -> StatusReport:
        return StatusReport(
            data_dir=self.paths.root,
            memories=self.ledger.count_memories(),
            events=self.ledger.count_events(),
            store_bytes=_folder_bytes(self.paths.root) - _folder_bytes(self.paths.models),
            llm=self.llm_description(),
            embedder=self.settings.embedder.model,
            batches=batch_log.count_batches(self.ledger),
        )

    def doctor(self, reindex: bool = False, progress: Progress = NULL_PROGRESS) -> list[DoctorCheck]:
        checks = [DoctorCheck("lock", self._lock.is_held, f"this process owns {self.paths.root}")]
        try:
            integrity = self.ledger.integrity_check()
            checks.append(DoctorCheck("ledger", integrity == "ok", f"{self.paths.ledger}: {integrity}"))
        except RememoraError as exc:
            checks.append(DoctorCheck("ledger", False, str(exc)))
        checks.append(self._check_llm(progress))
        try:
            plan = self.offload_plan(progress)
            checks.append(DoctorCheck("runtime", True, plan.summary() + "".join(
                f"\n       - {reason}" for reason in plan.reasons)))
        except RememoraError as exc:
            checks.append(DoctorCheck("runtime", False, str(exc)))
        try:
            self.embedder.embed(["doctor"])
            checks.append(DoctorCheck("embedder", True, f"{self.embedder.name} loads and embeds"))
        except RememoraError as exc:
            checks.append(DoctorCheck("embedder", False, str(exc)))
            return checks
        if reindex:
            self.ledger.mark_all_unindexed()
            self.index.reset()
        indexed = sync_index(self.ledger, self.index, self.embedder, progress)
        active = self.ledger.count_memories()
        in_chroma = {t: self.index.count(t) for t in MemoryType}
        stale = {t.value: (in_chroma[t], active[t]) for t in MemoryType if in_chroma[t] < active[t]}
        checks.append(DoctorCheck(
            "index", not stale,
            (f"rebuilt from the ledger: {indexed} memories" if reindex
             else f"Chroma holds every memory ({sum(in_chroma.values())})")
            if not stale else f"Chroma is missing memories {stale}; run `rememora doctor --reindex`",
        ))
        return checks

    def _check_llm(self, progress: Progress) -> DoctorCheck:
        cfg = self.settings.llm
        try:
            if cfg.model_path:
                check_gguf_header(Path(cfg.model_path).expanduser(), cfg.model_path)
                return DoctorCheck("llm", True, f"{cfg.model_path} is a GGUF file (no checksum known)")
            model = LLM_MODELS[cfg.model]
            path = ensure_model_file(model, self.paths.models, model_wheel_dir(), progress)
            verify(model, path, progress)
            return DoctorCheck("llm", True, f"{model.name}: {path} sha256 verified")
        except ModelError as exc:
            return DoctorCheck("llm", False, str(exc))

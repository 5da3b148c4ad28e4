"""The one door into the core. The CLI and the GUI call these verbs; nothing outside
``core`` touches the ledger, Chroma or the models directly.

Opening a :class:`Service` takes the data directory's lock; the embedder, the index and
the LLM load lazily on first use, so `rememora status` stays fast.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType

from core.answer import Answer, answer
from core.errors import ModelError, RememoraError
from core import batch_log
from core.chat_formats import read_chat_file
from core.ingest import IngestReport, process_pending, sync_index
from core.ledger import Ledger
from core.lock import DataDirLock
from core.paths import StorePaths
from core.progress import NULL_PROGRESS, Progress
from core.records import (
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
from core.vault import VaultCipher
from core.vector_index import ChromaIndex, VectorIndex
from models.assembly import check_gguf_header, ensure_model_file, verify
from models.embedder import Embedder, SentenceTransformerEmbedder
from models.llm import LLM, JsonLLM, LlamaCppLLM
from models.registry import LLM_MODELS, model_wheel_dir

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
        self._cipher: VaultCipher | None = None
        self._init_lock = threading.Lock()
        self._seed_core()

    # -- lifecycle ------------------------------------------------------------------
    def close(self) -> None:
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
                self._embedder = SentenceTransformerEmbedder(self.settings.embedder.model)
            return self._embedder

    @property
    def index(self) -> VectorIndex:
        embedder = self.embedder
        with self._init_lock:
            if self._index is None:
                self._index = ChromaIndex(self.paths.chroma, embedder)
            return self._index

    @property
    def cipher(self) -> VaultCipher:
        with self._init_lock:
            if self._cipher is None:
                self._cipher = VaultCipher(self.paths.root)
            return self._cipher

    def llm_description(self) -> str:
        if self.settings.llm.model_path:
            return f"{Path(self.settings.llm.model_path).name} (user file)"
        return self.settings.llm.model

    def load_llm(self, progress: Progress = NULL_PROGRESS) -> LLM:
        """The configured LLM, its file assembled and verified on first use."""
        with self._init_lock:
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
                llm = LlamaCppLLM(name, path, n_ctx=cfg.n_ctx, n_threads=cfg.n_threads)
                progress.update(0, None, f"loading {name}")
                llm.load()
                self._llm = llm
            return self._llm

    # -- capture ----------------------------------------------------------------------
    def add_chat_turn(self, speaker: str, text: str, at: datetime | None = None) -> EventId:
        if not speaker.strip() or not text.strip():
            raise RememoraError("a chat turn needs a speaker and some text")
        event = NewEvent(EventKind.CHAT, text.strip(), at or self._clock(), speaker.strip(),
                         source="chat")
        return self.ledger.append_events([event])[0]

    def import_chat(self, path: Path) -> list[EventId]:
        """Validate the whole file (JSON lines, ChatGPT export or LOCOMO), then append all
        its turns in one transaction."""
        return self.ledger.append_events(read_chat_file(path))

    # -- write path ---------------------------------------------------------------------
    def ingest(self, progress: Progress = NULL_PROGRESS) -> IngestReport:
        """Record pending events, then extract typed memories from their batches with the
        LLM and reconcile them (batches that fail are retried on later runs)."""
        reconciler = Reconciler(self.ledger, self.index, self.embedder, self.cipher)
        return process_pending(self.ledger, self.index, self.embedder, progress,
                               reconciler=reconciler, load_llm=lambda: self._json_llm(progress),
                               now=self._clock)

    def _json_llm(self, progress: Progress) -> JsonLLM:
        llm = self.load_llm(progress)
        if not hasattr(llm, "complete_json"):
            raise ModelError(llm.name, "cannot answer with schema-constrained JSON")
        return llm  # type: ignore[return-value]

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

    def search(self, query: str) -> list[SearchHit]:
        cfg = self.settings.retrieval
        return search(query, self.ledger, self.index, self.embedder,
                      RetrievalSettings(top_k=cfg.top_k, min_similarity=cfg.min_similarity))

    def ask(
        self, question: str, on_token: Callable[[str], None],
        progress: Progress = NULL_PROGRESS,
    ) -> Answer:
        """Process pending events (so a turn added a moment ago counts), retrieve, and
        stream the answer through ``on_token``."""
        if not question.strip():
            raise RememoraError("the question is empty")
        llm = self.load_llm(progress)  # first: a broken model must not half-run the ask
        self.record_events(progress)
        hits = self.search(question)
        core = self.ledger.list_memories(MemoryType.CORE)
        result = answer(question, hits, core, llm, self._clock(),
                        self.settings.llm.max_answer_tokens, on_token)
        self.ledger.record_access(list(result.cited or result.context))
        return result

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

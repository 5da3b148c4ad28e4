"""The runtimes a :class:`~core.service.Service` uses, built lazily from the settings: the
embedder, the Chroma index, the vault and frame ciphers (over the store's data key), the OCR engine, the LLM and the one worker
that owns it. The model file is resolved in one place (:meth:`Runtime.resolve_model`),
for loading, for the offload plan, for `doctor` and for benchmarks alike.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from core.capture.frame_files import FrameCipher
from core.errors import ModelError
from core.progress import NULL_PROGRESS, Progress
from core.settings import Settings
from core.store.keys import DataKey
from core.store.paths import StorePaths
from core.store.vault import VaultCipher
from core.store.vector_index import ChromaIndex, VectorIndex
from gpu.devices import discover
from gpu.gguf_header import GGUFError, read_model_shape
from gpu.kv_state_cache import KVStateCache
from gpu.offload_plan import OffloadPlan, plan_offload
from models.assembly import check_gguf_header, ensure_model_file
from models.embedder import Embedder, SentenceTransformerEmbedder
from models.llm import LLM, JsonLLM, LlamaCppLLM, RuntimeOptions
from models.llm_worker import LLMWorker, Priority, queued_model
from models.ocr import OcrEngine, RapidOcrEngine
from models.openai_llm import OpenAICompatibleLLM
from models.registry import LLM_MODELS, model_wheel_dir


@dataclass(frozen=True)
class ModelFile:
    """A local GGUF model: the registry's (checksum known) or the user's own file."""

    name: str
    path: Path
    sha256: str  # "" for a user file: no checksum is known


class Runtime:
    def __init__(
        self,
        paths: StorePaths,
        settings: Settings,
        key: DataKey,
        *,
        llm: LLM | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.paths = paths
        self.key = key
        self.cipher = VaultCipher(key)  # both fail with LockedError while the key is locked
        self.frame_cipher = FrameCipher(key)
        self.settings = settings
        self._llm = llm
        self._embedder = embedder
        self._index: VectorIndex | None = None
        self._ocr: OcrEngine | None = None
        self._worker: LLMWorker | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = SentenceTransformerEmbedder(
                    self.settings.embedder.model, models_dir=self.paths.models
                )
            return self._embedder

    def named_embedder(self, name: str | None) -> Embedder:
        """The configured embedder, or another one by registry name (benchmarks)."""
        if name is None:
            return self.embedder
        return SentenceTransformerEmbedder(name, models_dir=self.paths.models)

    @property
    def index(self) -> VectorIndex:
        embedder = self.embedder
        with self._lock:
            if self._index is None:
                cfg = self.settings.index
                self._index = ChromaIndex(
                    self.paths.chroma, embedder, host=cfg.chroma_host, port=cfg.chroma_port
                )
            return self._index

    @property
    def ocr(self) -> OcrEngine:
        with self._lock:
            if self._ocr is None:
                self._ocr = RapidOcrEngine(self.settings.capture.ocr_threads)
            return self._ocr

    # -- the model ------------------------------------------------------------------------
    def llm_description(self) -> str:
        if self.settings.llm.base_url:
            return f"server at {self.settings.llm.base_url}"
        if self.settings.llm.model_path:
            return f"{Path(self.settings.llm.model_path).name} (user file)"
        return self.settings.llm.model

    def resolve_model(
        self, model: str | None = None, progress: Progress = NULL_PROGRESS
    ) -> ModelFile:
        """The model file to run: ``model`` from the registry when given, else the user's
        ``llm.model_path`` (its GGUF header checked), else the configured registry model,
        assembled from its wheels and size-checked on first use."""
        path_setting = self.settings.llm.model_path
        if model is None and path_setting:
            path = Path(path_setting).expanduser()
            check_gguf_header(path, path.name)
            return ModelFile(path.stem, path, "")
        spec = LLM_MODELS[model or self.settings.llm.model]
        path = ensure_model_file(spec, self.paths.models, model_wheel_dir(), progress)
        return ModelFile(spec.name, path, spec.sha256)

    def runtime_options(self, model: ModelFile) -> tuple[RuntimeOptions, int]:
        """llama.cpp options and n_ctx from the offload plan for this machine."""
        try:
            plan = plan_offload(read_model_shape(model.path), discover(), self.settings.llm.n_ctx)
        except GGUFError as exc:
            raise ModelError(
                model.name,
                f"cannot load {model.path}: the file is damaged or "
                f"not a GGUF model llama.cpp supports ({exc})",
            ) from None
        return RuntimeOptions(
            plan.n_gpu_layers, plan.offload_kqv, plan.flash_attn, plan.type_id, plan.type_id
        ), plan.n_ctx

    def offload_plan(self, progress: Progress = NULL_PROGRESS) -> OffloadPlan:
        """How the model runs on this machine (layers on the GPU, KV type, n_ctx) and why."""
        try:
            shape = read_model_shape(self.resolve_model(progress=progress).path)
        except GGUFError as exc:
            raise ModelError(self.llm_description(), str(exc)) from None
        return plan_offload(shape, discover(), wanted_ctx=self.settings.llm.n_ctx)

    def _state_cache(self) -> KVStateCache | None:
        cfg = self.settings.llm
        if cfg.state_cache_ram_mb == 0 and cfg.state_cache_disk_mb == 0:
            return None
        return KVStateCache(
            cfg.state_cache_ram_mb << 20,
            self.paths.kv_states if cfg.state_cache_disk_mb else None,
            cfg.state_cache_disk_mb << 20,
        )

    def load_llm(self, progress: Progress = NULL_PROGRESS) -> LLM:
        """The configured LLM, its file assembled and verified on first use."""
        with self._lock:
            if self._llm is None and self.settings.llm.base_url:
                server = OpenAICompatibleLLM(self.settings.llm.base_url)
                server.model_id()  # reachable now, or one clear error
                self._llm = server
            if self._llm is None:
                model = self.resolve_model(progress=progress)
                options, n_ctx = self.runtime_options(model)
                llm = LlamaCppLLM(
                    model.name,
                    model.path,
                    n_ctx=n_ctx,
                    n_threads=self.settings.llm.n_threads,
                    options=options,
                    state_cache=self._state_cache(),
                    model_sha256=model.sha256,
                )
                progress.update(0, None, f"loading {model.name}")
                llm.load()
                self._llm = llm
            return self._llm

    def forget_recent_prompts(self) -> None:
        """Clear the loaded local model's live context and its in-RAM KV states (nothing
        to do for a server model, or before a model is loaded)."""
        with self._lock:
            llm = self._llm
        if isinstance(llm, LlamaCppLLM):
            llm.forget_recent_prompts()

    def llm_worker(self, progress: Progress = NULL_PROGRESS) -> LLMWorker:
        """The one worker that owns the model; every use of the LLM goes through its
        priority queue (question > ingest > consolidation)."""
        llm = self.load_llm(progress)
        with self._lock:
            if self._worker is None:
                self._worker = LLMWorker(llm)
            return self._worker

    def json_llm(self, progress: Progress = NULL_PROGRESS) -> JsonLLM:
        """The model through the worker's queue at ingest priority (a question goes first)."""
        llm = self.load_llm(progress)
        if not isinstance(llm, JsonLLM):
            raise ModelError(llm.name, "cannot answer with schema-constrained JSON")
        return queued_model(self.llm_worker(progress), Priority.INGEST)

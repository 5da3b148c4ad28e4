"""`rememora status` and `rememora doctor`: what the store holds, and whether each part
of it (lock, ledger, model file, offload plan, embedder, index) is sound.

Status runs after every GUI op, so it reads counters, never the media folder: the size
of the store is the ledger's files, the Chroma folder (a few files) and the media totals
the capture media store keeps in the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ModelError, RememoraError
from core.ingest.pipeline import sync_index
from core.progress import NULL_PROGRESS, Progress
from core.records import MemoryType
from core.runtime import Runtime
from core.store.counters import MediaTotals
from core.store.ledger import Ledger
from core.store.lock import DataDirLock
from models.assembly import verify
from models.registry import LLM_MODELS


@dataclass(frozen=True)
class StatusReport:
    data_dir: Path
    memories: dict[MemoryType, int]
    events: dict[str, int]
    store_bytes: int
    llm: str
    embedder: str
    batches: dict[str, int] = field(default_factory=dict)
    media_files: int = 0
    media_bytes: int = 0


@dataclass(frozen=True)
class DoctorCheck:
    name: str
    ok: bool
    detail: str


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def status(ledger: Ledger, runtime: Runtime) -> StatusReport:
    paths = runtime.paths
    media = ledger.media_totals() or MediaTotals(0, 0)
    return StatusReport(
        data_dir=paths.root,
        memories=ledger.count_memories(),
        events=ledger.count_events(),
        store_bytes=ledger.file_bytes() + _folder_bytes(paths.chroma) + media.bytes,
        llm=runtime.llm_description(),
        embedder=runtime.settings.embedder.model,
        batches=ledger.count_batches(),
        media_files=media.files,
        media_bytes=media.bytes,
    )


def doctor(
    ledger: Ledger,
    runtime: Runtime,
    lock: DataDirLock,
    reindex: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> list[DoctorCheck]:
    paths = runtime.paths
    checks = [DoctorCheck("lock", lock.is_held, f"this process owns {paths.root}")]
    try:
        integrity = ledger.integrity_check()
        checks.append(DoctorCheck("ledger", integrity == "ok", f"{paths.ledger}: {integrity}"))
    except RememoraError as exc:
        checks.append(DoctorCheck("ledger", False, str(exc)))
    checks.append(_check_llm(runtime, progress))
    try:
        plan = runtime.offload_plan(progress)
        checks.append(
            DoctorCheck(
                "runtime",
                True,
                plan.summary() + "".join(f"\n       - {reason}" for reason in plan.reasons),
            )
        )
    except RememoraError as exc:
        checks.append(DoctorCheck("runtime", False, str(exc)))
    try:
        runtime.embedder.embed(["doctor"])
        checks.append(DoctorCheck("embedder", True, f"{runtime.embedder.name} loads and embeds"))
    except RememoraError as exc:
        checks.append(DoctorCheck("embedder", False, str(exc)))
        return checks
    index = runtime.index
    if reindex:
        ledger.mark_all_unindexed()
        index.reset()
    indexed = sync_index(ledger, index, runtime.embedder, progress)
    active = ledger.count_memories()
    in_chroma = {t: index.count(t) for t in MemoryType}
    stale = {t.value: (in_chroma[t], active[t]) for t in MemoryType if in_chroma[t] < active[t]}
    checks.append(
        DoctorCheck(
            "index",
            not stale,
            (
                f"rebuilt from the ledger: {indexed} memories"
                if reindex
                else f"Chroma holds every memory ({sum(in_chroma.values())})"
            )
            if not stale
            else f"Chroma is missing memories {stale}; run `rememora doctor --reindex`",
        )
    )
    return checks


def _check_llm(runtime: Runtime, progress: Progress) -> DoctorCheck:
    cfg = runtime.settings.llm
    try:
        model = runtime.resolve_model(progress=progress)
        if not model.sha256:
            return DoctorCheck("llm", True, f"{cfg.model_path} is a GGUF file (no checksum known)")
        verify(LLM_MODELS[model.name], model.path, progress)
        return DoctorCheck("llm", True, f"{model.name}: {model.path} sha256 verified")
    except ModelError as exc:
        return DoctorCheck("llm", False, str(exc))

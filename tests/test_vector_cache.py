"""The cache reconcile embeds into before its write: the real embedder behind it."""

from __future__ import annotations

import pytest

from core.ingest.vector_cache import VectorCache, VectorsMissing


def test_filled_texts_are_served_and_a_strict_cache_refuses_others(embedder) -> None:  # type: ignore[no-untyped-def]
    cache = VectorCache(embedder)
    cache.fill(["a cat on a mat", "a dog in fog"])
    cache.strict = True
    [cat] = cache.embed(["a cat on a mat"])
    assert cat == pytest.approx(embedder.embed(["a cat on a mat", "a dog in fog"])[0], abs=1e-6)
    with pytest.raises(VectorsMissing) as missing:
        cache.embed(["a cat on a mat", "a bird", "a bird"])
    assert missing.value.texts == ("a bird",)
    cache.strict = False
    assert len(cache.embed(["a bird"])[0]) == embedder.dimension

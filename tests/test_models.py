import math
import shutil
from pathlib import Path

import pytest

from core.errors import ModelError
from models.assembly import ensure_model_file, sha256_file, verify
from models.llm import ChatMessage, LlamaCppLLM
from models.registry import QWEN25_CODER_05B, SMOLLM2, model_wheel_dir


def test_smollm2_is_assembled_from_its_wheel_and_verified(shared_models: Path) -> None:
    path = shared_models / SMOLLM2.filename
    assert path.stat().st_size == SMOLLM2.size
    assert sha256_file(path) == SMOLLM2.sha256


def test_qwen_parts_are_fetched_and_pinned() -> None:
    folder = model_wheel_dir()
    for part in QWEN25_CODER_05B.parts:
        assert (folder / part.filename).exists(), part.filename
    sizes = sum(1 for _ in QWEN25_CODER_05B.parts)
    assert sizes == 6


def test_corrupt_model_file_is_detected(tmp_path: Path, shared_models: Path) -> None:
    copy = tmp_path / SMOLLM2.filename
    shutil.copyfile(shared_models / SMOLLM2.filename, copy)
    with copy.open("r+b") as handle:
        handle.seek(5_000_000)
        handle.write(b"\x00\xff\x00\xff")
    with pytest.raises(ModelError, match="corrupt"):
        ensure_model_file(SMOLLM2, tmp_path, model_wheel_dir())
    with pytest.raises(ModelError, match="corrupt"):
        verify(SMOLLM2, copy)


def test_missing_wheel_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="models.fetch smollm2-135m"):
        ensure_model_file(SMOLLM2, tmp_path / "models", tmp_path / "no-wheels")
    assert not (tmp_path / "models" / SMOLLM2.filename).exists()


def test_embedder_is_real_and_semantic(embedder) -> None:  # type: ignore[no-untyped-def]
    cat, kitten, invoice = embedder.embed(
        ["a cat sleeps on the sofa", "a kitten naps on the couch", "the quarterly tax invoice"]
    )
    assert len(cat) == 384
    assert math.isclose(sum(x * x for x in cat), 1.0, rel_tol=1e-4)
    dot = lambda a, b: sum(x * y for x, y in zip(a, b))  # noqa: E731
    assert dot(cat, kitten) > dot(cat, invoice) + 0.3


def test_tiny_llm_streams_greedy_and_repeatable(shared_models: Path) -> None:
    llm = LlamaCppLLM("smollm2-135m", shared_models / SMOLLM2.filename, n_ctx=1024)
    messages = [ChatMessage("user", "Name a colour of the sky.")]
    first = list(llm.stream_chat(messages, max_tokens=16))
    second = list(llm.stream_chat(messages, max_tokens=16))
    assert len(first) > 1 and "".join(first).strip()
    assert first == second
    assert llm.count_tokens("hello world") >= 2

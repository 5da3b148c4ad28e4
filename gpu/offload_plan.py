"""How to run a model on this machine: how many layers go to the GPU, where the KV cache
lives and in what type, whether flash attention is on, and how long a context fits —
from the model file's own header (gpu/gguf_header.py) and the device report
(gpu/devices.py), leaving headroom for the desktop and other programs.

The rules, in order of preference (each choice records why in ``reasons``):
1. Everything on the GPU (all layers, output layer, KV) with an f16 KV cache.
2. The same with a q8_0 KV cache (half the bytes). A quantised V cache needs flash
   attention; on CUDA only q4_0/q8_0 KV stay on the GPU in flash attention (other types
   fall back to the CPU), so q8_0 is the one quantised type planned.
3. A shorter context, halving down to ``min_ctx``.
4. As many layers as fit (with their KV), the rest on the CPU.
5. CPU only.
Memory figures for the compute buffer are estimates; the headroom absorbs their error.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpu.devices import GPU, DeviceReport
from gpu.gguf_header import ModelShape

MIB = 1 << 20
GGML_TYPE_IDS = {"f16": 1, "q4_0": 2, "q8_0": 8}
KV_BYTES_PER_ELEMENT = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
N_UBATCH = 512


@dataclass(frozen=True)
class OffloadPlan:
    backend: str  # "cuda" | "metal" | "cpu"
    device: str
    n_gpu_layers: int
    n_layers: int
    offload_kqv: bool
    flash_attn: bool
    kv_type: str  # "f16" | "q8_0"
    n_ctx: int
    weights_gpu_bytes: int
    kv_bytes: int
    compute_bytes: int
    budget_bytes: int
    reasons: tuple[str, ...]

    @property
    def type_id(self) -> int:
        return GGML_TYPE_IDS[self.kv_type]

    def summary(self) -> str:
        where = (
            "all layers on the GPU"
            if self.n_gpu_layers > self.n_layers
            else f"{self.n_gpu_layers}/{self.n_layers} layers on the GPU"
            if self.n_gpu_layers
            else "CPU only"
        )
        return (
            f"{self.backend} ({self.device}): {where}, n_gpu_layers={self.n_gpu_layers}, "
            f"offload_kqv={self.offload_kqv}, flash_attn={self.flash_attn}, "
            f"KV {self.kv_type}, n_ctx={self.n_ctx}; GPU use {self.gpu_bytes / MIB:.0f} MiB "
            f"of a {self.budget_bytes / MIB:.0f} MiB budget"
        )

    @property
    def gpu_bytes(self) -> int:
        if not self.n_gpu_layers:
            return 0
        return (
            self.weights_gpu_bytes + (self.kv_bytes if self.offload_kqv else 0) + self.compute_bytes
        )


def headroom_bytes(gpu: GPU) -> int:
    """Left free for the desktop, the driver and other programs: 10 %, at least 512 MiB."""
    return max(512 * MIB, gpu.total_bytes // 10)


def kv_bytes(shape: ModelShape, kv_type: str, n_ctx: int, layers: int | None = None) -> int:
    per_token = shape.kv_bytes_per_token(KV_BYTES_PER_ELEMENT[kv_type])
    share = (layers if layers is not None else shape.n_layers) / shape.n_layers
    return int(per_token * n_ctx * share)


def compute_bytes(shape: ModelShape, n_ctx: int, flash_attn: bool) -> int:
    """Estimate of llama.cpp's compute buffer: logits and activations for one micro-batch,
    plus the attention score matrix when flash attention is off."""
    activations = 4 * N_UBATCH * (shape.n_vocab + 4 * shape.n_embd + shape.n_ff)
    scores = 0 if flash_attn else 4 * N_UBATCH * n_ctx * shape.n_head
    return activations + scores


def _cpu_plan(shape: ModelShape, report: DeviceReport, n_ctx: int, why: str) -> OffloadPlan:
    reasons = [why]
    kv_type, flash = "f16", False
    f16 = kv_bytes(shape, "f16", n_ctx)
    if f16 > report.ram_free_bytes // 4:
        kv_type, flash = "q8_0", True
        reasons.append(
            f"an f16 KV cache ({f16 / MIB:.0f} MiB) would take over a quarter of "
            "free RAM: q8_0, with flash attention (a quantised V cache needs it)"
        )
    else:
        reasons.append(
            f"KV cache f16 in RAM ({f16 / MIB:.0f} MiB at n_ctx={n_ctx}); flash "
            "attention off (little gain on CPU)"
        )
    return OffloadPlan(
        "cpu",
        f"{report.cpu_threads} CPU threads",
        0,
        shape.n_layers,
        False,
        flash,
        kv_type,
        n_ctx,
        0,
        kv_bytes(shape, kv_type, n_ctx),
        0,
        0,
        tuple(reasons),
    )


def plan_offload(
    shape: ModelShape, report: DeviceReport, wanted_ctx: int = 4096, min_ctx: int = 2048
) -> OffloadPlan:
    n_ctx = min(wanted_ctx, shape.context_length)
    ctx_reason = f"n_ctx={n_ctx}" + (
        f" (the model's own limit is {shape.context_length})"
        if wanted_ctx > shape.context_length
        else ""
    )
    if not report.llama_gpu_offload:
        return _cpu_plan(shape, report, n_ctx, "llama.cpp here has no GPU backend")
    if not report.gpus:
        return _cpu_plan(shape, report, n_ctx, "no CUDA or Metal GPU found")
    gpu = max(report.gpus, key=lambda g: g.free_bytes)
    backend = "cuda" if gpu.kind == "cuda" else "metal"
    room = headroom_bytes(gpu)
    budget = gpu.free_bytes - room
    reasons = [
        f"{gpu.name}: {gpu.free_bytes / MIB:.0f} MiB free of {gpu.total_bytes / MIB:.0f}; "
        f"{room / MIB:.0f} MiB kept free as headroom -> budget {budget / MIB:.0f} MiB",
        ctx_reason,
    ]
    flash = backend == "metal" or (gpu.compute_capability or (0, 0)) >= (6, 0)
    reasons.append(
        "flash attention on: no n_ctx x n_ctx score matrix, and it allows a quantised V cache"
        if flash
        else "flash attention off (CUDA compute capability below 6.0), so the KV cache "
        "stays f16: a quantised V cache needs flash attention"
    )
    weights = sum(shape.layer_bytes) + shape.output_bytes
    types = ["f16", "q8_0"] if flash else ["f16"]

    def need(kv_type: str, ctx: int) -> int:
        return weights + kv_bytes(shape, kv_type, ctx) + compute_bytes(shape, ctx, flash)

    ctx = n_ctx
    while True:
        for kv_type in types:
            if need(kv_type, ctx) <= budget:
                if kv_type == "q8_0":
                    reasons.append(
                        "an f16 KV cache does not fit: q8_0 (on CUDA only q4_0/q8_0 "
                        "KV stay on the GPU with flash attention; q8_0 loses least)"
                    )
                if ctx < n_ctx:
                    reasons.append(
                        f"context shortened to {ctx} tokens to keep every layer on the GPU"
                    )
                reasons.append(
                    f"weights {weights / MIB:.0f} MiB + KV "
                    f"{kv_bytes(shape, kv_type, ctx) / MIB:.0f} MiB + compute "
                    f"~{compute_bytes(shape, ctx, flash) / MIB:.0f} MiB fit: every "
                    f"layer and the output layer offloaded "
                    f"(n_gpu_layers={shape.n_layers + 1})"
                )
                return OffloadPlan(
                    backend,
                    gpu.name,
                    shape.n_layers + 1,
                    shape.n_layers,
                    True,
                    flash,
                    kv_type,
                    ctx,
                    weights,
                    kv_bytes(shape, kv_type, ctx),
                    compute_bytes(shape, ctx, flash),
                    budget,
                    tuple(reasons),
                )
        if ctx // 2 < min_ctx:
            break
        ctx //= 2

    kv_type = types[-1]
    per_layer = max(shape.layer_bytes) + kv_bytes(shape, kv_type, n_ctx, layers=1)
    spare = budget - compute_bytes(shape, n_ctx, flash)
    layers = min(shape.n_layers, max(0, spare // per_layer))
    if layers == 0:
        return _cpu_plan(
            shape,
            report,
            n_ctx,
            f"{gpu.name} has too little free memory for even one layer "
            f"({per_layer / MIB:.0f} MiB with its KV): CPU only",
        )
    reasons.append(
        f"the model with its output layer does not fit even at n_ctx={min_ctx}: "
        f"{layers} of "
        f"{shape.n_layers} layers on the GPU ({per_layer / MIB:.1f} MiB each with "
        f"their KV, {kv_type}); the rest and the output layer on the CPU"
    )
    return OffloadPlan(
        backend,
        gpu.name,
        int(layers),
        shape.n_layers,
        True,
        flash,
        kv_type,
        n_ctx,
        int(layers * max(shape.layer_bytes)),
        kv_bytes(shape, kv_type, n_ctx, layers=int(layers)),
        compute_bytes(shape, n_ctx, flash),
        budget,
        tuple(reasons),
    )

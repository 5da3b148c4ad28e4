"""What this machine has to run a model on: GPUs with their free memory (torch CUDA or
Apple MPS), whether the installed llama.cpp can offload at all, and RAM.

A :class:`DeviceReport` is plain data and round-trips through JSON, so the offload
planner is tested on recorded descriptions of machines we do not have (tests/data).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class GPU:
    kind: str  # "cuda" | "mps"
    name: str
    total_bytes: int
    free_bytes: int  # for MPS: the recommended working set less what is allocated
    compute_capability: tuple[int, int] | None = None  # CUDA only


@dataclass(frozen=True)
class DeviceReport:
    gpus: tuple[GPU, ...]
    llama_gpu_offload: bool  # llama.cpp was built with a GPU backend (CUDA, Metal, …)
    ram_total_bytes: int
    ram_free_bytes: int
    cpu_threads: int
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @staticmethod
    def from_json(text: str) -> DeviceReport:
        raw: dict[str, Any] = json.loads(text)
        gpus = tuple(
            GPU(
                g["kind"],
                g["name"],
                int(g["total_bytes"]),
                int(g["free_bytes"]),
                (int(g["compute_capability"][0]), int(g["compute_capability"][1]))
                if g.get("compute_capability")
                else None,
            )
            for g in raw["gpus"]
        )
        return DeviceReport(
            gpus,
            bool(raw["llama_gpu_offload"]),
            int(raw["ram_total_bytes"]),
            int(raw["ram_free_bytes"]),
            int(raw["cpu_threads"]),
            tuple(raw.get("notes", ())),
        )


def _ram() -> tuple[int, int]:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in handle}
        return info["MemTotal"], info.get("MemAvailable", info["MemFree"])
    except (OSError, KeyError, ValueError, IndexError):
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return pages * size, os.sysconf("SC_AVPHYS_PAGES") * size


def _torch_gpus(notes: list[str]) -> list[GPU]:
    try:
        import torch
    except ImportError:
        notes.append("torch is not installed: no CUDA/MPS discovery")
        return []
    found: list[GPU] = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            props = torch.cuda.get_device_properties(index)
            found.append(
                GPU("cuda", props.name, int(total), int(free), (int(props.major), int(props.minor)))
            )
    elif torch.backends.mps.is_available():
        working_set = int(torch.mps.recommended_max_memory())
        allocated = int(torch.mps.driver_allocated_memory())
        found.append(GPU("mps", "Apple GPU (Metal)", working_set, working_set - allocated))
    else:
        notes.append(f"torch {torch.__version__} sees no CUDA or MPS device")
    return found


def discover() -> DeviceReport:
    """Look at this machine. torch is imported only when llama.cpp could use a GPU."""
    import llama_cpp

    notes: list[str] = []
    offload = bool(llama_cpp.llama_supports_gpu_offload())
    if offload:
        gpus = _torch_gpus(notes)
    else:
        gpus = []
        notes.append(
            "this llama.cpp build has no GPU backend (CPU only); "
            "for CUDA: CMAKE_ARGS=-DGGML_CUDA=on pip install llama-cpp-python"
        )
    total, free = _ram()
    return DeviceReport(
        tuple(gpus), offload, total, free, len(os.sched_getaffinity(0)), tuple(notes)
    )

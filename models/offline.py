"""Every dependency's network switches, turned off before any of them is imported:
Hugging Face (hub, transformers, datasets: offline, no telemetry), Chroma (anonymized
telemetry; the index also passes ``anonymized_telemetry=False``), and the common
``DO_NOT_TRACK`` convention. Forced, not defaulted: a variable left in the user's
environment cannot turn a download or a ping back on."""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
}


def force_offline() -> None:
    os.environ.update(OFFLINE_ENV)

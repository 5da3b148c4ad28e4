"""Which memory types a batch touches, learned from labelled examples.

One logistic regression per memory type over the sentence embedder the store already
runs (multi-label: a batch may touch several types, or none). The parameters (weights,
bias and a per-type threshold) are trained by ``bench/train_router.py`` on the tuning
part of the labelled set in bench/snippets_v2 and shipped as ``assets/models/router.npz``
(numbers only: no wording of the set ships). The embedder's name is stored with them: a
store running another embedder gets no learned routes (the rules still apply).

Besides the embedding, the model sees five numbers about the window's form, each from an
exact grammar the code base already has, never from wording: whether the user spoke, a
link or file name (core.ingest.routing's resource form), a time phrase
(core.time_grammar), a code-shaped value (core.ingest.secret_values) and how many
clauses it lists.

A batch is scored window by window (each event alone, and with the event before it, as
"speaker: text" lines, the way the set's snippets read) and a type is routed when any
window's probability passes the type's threshold. Core memory is about the user, so it is
routed only when the user spoke in the batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from core.identity import USER_SPEAKER
from core.records import Event, EventKind, MemoryType

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MODEL_FILE = "models/router.npz"
WINDOW = 2


def speaker_of(event: Event) -> str:
    if event.kind is EventKind.SCREEN:
        return "screen"
    return event.speaker or USER_SPEAKER


def render_turns(turns: Sequence[tuple[str, str]]) -> str:
    """The text a window of turns is embedded as (training and routing alike)."""
    return "\n".join(f"{speaker}: {' '.join(text.split())}" for speaker, text in turns)


def windows(events: Sequence[Event]) -> list[str]:
    turns = [(speaker_of(e), e.text) for e in events]
    texts = [render_turns([t]) for t in turns]
    texts += [render_turns(turns[i - WINDOW + 1 : i + 1]) for i in range(WINDOW - 1, len(turns))]
    return list(dict.fromkeys(texts))


FORM_FEATURES = 5
_CLAUSE = re.compile(r",|;|\bthen\b|\bfinally\b|\n\s*\d+[.)]", re.IGNORECASE)


def form_features(text: str) -> list[float]:
    """The window's form, as numbers in [0, 1] (see the module's docstring)."""
    from core.ingest.routing import RESOURCE_FORM
    from core.ingest.secret_values import find_values
    from core.time_grammar.grammar import find_phrases

    body = "\n".join(line.split(": ", 1)[-1] for line in text.splitlines())
    return [
        float(any(line.startswith(f"{USER_SPEAKER}: ") for line in text.splitlines())),
        float(bool(RESOURCE_FORM.search(body))),
        float(bool(find_phrases(body))),
        float(bool(find_values(body))),
        min(len(_CLAUSE.findall(body)), 4) / 4,
    ]


def inputs(texts: Sequence[str], vectors: Sequence[Sequence[float]]) -> NDArray[np.float64]:
    """The classifier's input rows: each embedding followed by its form features."""
    import numpy as np

    return np.asarray(
        [[*vector, *form_features(text)] for text, vector in zip(texts, vectors)], dtype=np.float64
    )


@dataclass(frozen=True)
class RouterModel:
    types: tuple[MemoryType, ...]
    weights: NDArray[np.float64]  # (types, dimension)
    bias: NDArray[np.float64]  # (types,)
    thresholds: NDArray[np.float64]  # (types,)
    embedder: str

    def probabilities(
        self, texts: Sequence[str], vectors: Sequence[Sequence[float]]
    ) -> NDArray[np.float64]:
        """(texts, types) probabilities; ``vectors`` are the embeddings of ``texts``."""
        import numpy as np

        z = inputs(texts, vectors) @ self.weights.T + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def routes(
        self, events: Sequence[Event], vectors: Sequence[Sequence[float]]
    ) -> set[MemoryType]:
        """The types any window passes; ``vectors`` are the embeddings of ``windows(events)``."""
        if not events:
            return set()
        best = self.probabilities(windows(events), vectors).max(axis=0)
        chosen = {t for t, p, th in zip(self.types, best, self.thresholds) if p >= th}
        if not any(speaker_of(e) == USER_SPEAKER for e in events):
            chosen.discard(MemoryType.CORE)
        return chosen

    def score(
        self, memory_type: MemoryType, texts: Sequence[str], vectors: Sequence[Sequence[float]]
    ) -> list[float]:
        """One type's probability for each text (a window, or one record's text)."""
        if not texts:
            return []
        column = self.types.index(memory_type)
        return [float(p) for p in self.probabilities(texts, vectors)[:, column]]

    def threshold(self, memory_type: MemoryType) -> float:
        return float(self.thresholds[self.types.index(memory_type)])


def save(model: RouterModel, path: str) -> None:
    import numpy as np

    np.savez(
        path,
        types=np.array([t.value for t in model.types]),
        weights=model.weights,
        bias=model.bias,
        thresholds=model.thresholds,
        embedder=np.array(model.embedder),
    )


@lru_cache(maxsize=4)
def load(path: str = "") -> RouterModel | None:
    """The shipped router (or the one at ``path``); None when there is none."""
    import numpy as np

    from assets import path as asset_path

    file = path or asset_path(MODEL_FILE)
    try:
        data = np.load(file, allow_pickle=False)
    except FileNotFoundError:
        return None
    return RouterModel(
        tuple(MemoryType(str(t)) for t in data["types"]),
        data["weights"].astype(np.float64),
        data["bias"].astype(np.float64),
        data["thresholds"].astype(np.float64),
        str(data["embedder"]),
    )


def for_embedder(name: str) -> RouterModel | None:
    model = load()
    return model if model is not None and model.embedder == name else None

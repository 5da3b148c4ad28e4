"""Train the learned router (core.ingest.learned_router) on the TUNING part of the
labelled set and write its parameters to assets/models/router.npz.

    PYTHONPATH=$PWD python bench/train_router.py [--embedder all-minilm-l6-v2]

One L2-regularised logistic regression per memory type (numpy, full-batch gradient
descent, classes weighted to balance), over the embeddings of each snippet's turns
rendered as the router renders a window, and of each single turn of a one-speaker
snippet. The regularisation strength and each type's threshold are chosen by 5-fold
cross-validation on the tuning part (the test part is never read here). Only numbers
ship: weights, biases, thresholds and the embedder's name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import numpy as np
from labelled_set import Snippet, load
from numpy.typing import NDArray

from core.ingest.learned_router import MODEL_FILE, RouterModel, inputs, render_turns, save
from core.records import MemoryType
from models.embedder import SentenceTransformerEmbedder

TYPES = tuple(MemoryType)
L2_GRID = (0.0003, 0.001, 0.003, 0.01)
FOLDS = 5


def snippet_text(snippet: Snippet) -> str:
    return render_turns([(t.speaker, t.text) for t in snippet.turns])


def labels(snippets: list[Snippet]) -> NDArray[np.float64]:
    return np.array([[t.value in s.types for t in TYPES] for s in snippets], dtype=np.float64)


def fit(
    x: NDArray[np.float64], y: NDArray[np.float64], l2: float, steps: int = 1500
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-type logistic regression; positives and negatives weighted to balance."""
    n, d = x.shape
    w = np.zeros((y.shape[1], d))
    b = np.zeros(y.shape[1])
    pos = y.sum(axis=0).clip(1)
    neg = (n - y.sum(axis=0)).clip(1)
    weight = np.where(y > 0, n / (2 * pos), n / (2 * neg))
    rate = 2.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w.T + b)))
        g = (p - y) * weight / n
        w -= rate * (g.T @ x + l2 * w)
        b -= rate * g.sum(axis=0)
    return w, b


def _fold(snippet_id: str) -> int:
    return hashlib.sha256(("fold:" + snippet_id).encode()).digest()[0] % FOLDS


def cross_validate(
    x: NDArray[np.float64], y: NDArray[np.float64], ids: list[str], l2: float
) -> NDArray[np.float64]:
    """Out-of-fold probabilities for every tuning snippet."""
    folds = np.array([_fold(i) for i in ids])
    out = np.zeros_like(y)
    for k in range(FOLDS):
        train, held = folds != k, folds == k
        w, b = fit(x[train], y[train], l2)
        out[held] = 1 / (1 + np.exp(-(x[held] @ w.T + b)))
    return out


def best_thresholds(p: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per type, the threshold with the best F1 on out-of-fold probabilities."""
    grid = np.linspace(0.2, 0.8, 25)
    chosen = []
    for j in range(y.shape[1]):
        f1 = []
        for th in grid:
            pred = p[:, j] >= th
            tp = float((pred & (y[:, j] > 0)).sum())
            f1.append(2 * tp / max(1.0, pred.sum() + y[:, j].sum()))
        chosen.append(grid[int(np.argmax(f1))])
    return np.array(chosen)


def exact(p: NDArray[np.float64], y: NDArray[np.float64], th: NDArray[np.float64]) -> float:
    return float(((p >= th) == (y > 0)).all(axis=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default="all-minilm-l6-v2")
    parser.add_argument("--out", type=Path, default=REPO / "assets" / MODEL_FILE)
    args = parser.parse_args()
    tune = load("tune")
    embedder = SentenceTransformerEmbedder(args.embedder)
    texts = [snippet_text(s) for s in tune]
    x = inputs(texts, embedder.embed(texts))
    y = labels(tune)
    ids = [s.id for s in tune]
    results = {}
    for l2 in L2_GRID:
        p = cross_validate(x, y, ids, l2)
        th = best_thresholds(p, y)
        results[l2] = (exact(p, y, th), th)
        pred = p >= th
        f1 = {
            t.value: round(
                float(
                    2
                    * (pred[:, j] & (y[:, j] > 0)).sum()
                    / max(1, pred[:, j].sum() + y[:, j].sum())
                ),
                2,
            )
            for j, t in enumerate(TYPES)
        }
        print(f"l2={l2}: cross-validated exact-set accuracy {results[l2][0]:.3f}, F1 {f1}")
    l2 = max(results, key=lambda k: results[k][0])
    w, b = fit(x, y, l2)
    model = RouterModel(TYPES, w, b, results[l2][1], args.embedder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(model, str(args.out))
    summary = {
        "embedder": args.embedder,
        "tune_snippets": len(tune),
        "l2": l2,
        "cv_exact_accuracy": round(results[l2][0], 3),
        "thresholds": {t.value: round(float(v), 3) for t, v in zip(TYPES, results[l2][1])},
    }
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

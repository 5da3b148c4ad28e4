"""LOCOMO's answer score: token F1 with its official normalisation (lower case, commas
and punctuation out, articles and "and" out, Porter stems), per category as in its
evaluation script: multi-hop (1) averages the best F1 of each comma-separated gold part,
open-domain (3) scores against the gold answer's first ';' part, adversarial (5) scores 1
when the answer says the information is not available."""

from __future__ import annotations

import re
import string
from collections import Counter

from nltk.stem import PorterStemmer  # type: ignore[import-untyped]

_STEMMER = PorterStemmer()
_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_NOT_AVAILABLE = ("no information available", "not mentioned")


def normalize_answer(text: str) -> str:
    text = str(text).replace(",", "").lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    predicted = [_STEMMER.stem(w) for w in normalize_answer(prediction).split()]
    wanted = [_STEMMER.stem(w) for w in normalize_answer(gold).split()]
    common = Counter(predicted) & Counter(wanted)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted)
    recall = overlap / len(wanted)
    return 2 * precision * recall / (precision + recall)


def multi_answer_f1(prediction: str, gold: str) -> float:
    predictions = [p.strip() for p in str(prediction).split(",")]
    golds = [g.strip() for g in str(gold).split(",")]
    return sum(max(token_f1(p, g) for p in predictions) for g in golds) / len(golds)


def locomo_answer_score(category: int, prediction: str, gold: str) -> float:
    if category == 5:
        lowered = prediction.lower()
        return float(any(phrase in lowered for phrase in _NOT_AVAILABLE))
    if category == 1:
        return multi_answer_f1(prediction, gold)
    if category == 3:
        gold = str(gold).split(";")[0].strip()
    return token_f1(prediction, gold)


def contains_answer(prediction: str, gold: str) -> float:
    """1.0 when the normalised gold answer appears in the normalised prediction (as whole
    words), else 0.0: for gold answers longer than a reader's short answer, F1 undersells."""
    wanted = " ".join(_STEMMER.stem(w) for w in normalize_answer(gold).split())
    said = " ".join(_STEMMER.stem(w) for w in normalize_answer(prediction).split())
    return float(bool(wanted) and f" {wanted} " in f" {said} ")

"""Scores computed from rankings of source turns alone, so anyone can recompute them from
a ``--dump`` file.

A retrieved memory maps to the source turns it came from; the ranking that is scored is
the list of *distinct* source turns in rank order, cut at k, so one large memory cannot
buy recall by standing for many turns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean

_LOCOMO_ID = re.compile(r"D:?\s*(\d+)\s*:\s*(\d+)")
LOCOMO_KS = (1, 5, 10, 20)
LONGMEMEVAL_KS = (5, 10, 20)


def clean_locomo_evidence(raw: Iterable[str]) -> list[str]:
    """LOCOMO evidence ids as ``D<session>:<turn>``, malformed ones repaired:
    "D8:6; D9:17" is two ids, "D:11:26" is D11:26, "D30:05" is D30:5."""
    cleaned: dict[str, None] = {}
    for item in raw:
        for session, turn in _LOCOMO_ID.findall(str(item)):
            cleaned[f"D{int(session)}:{int(turn)}"] = None
    return list(cleaned)


def distinct_turns(per_hit: Iterable[Sequence[str]]) -> list[str]:
    """Flatten the source turns of ranked hits into distinct turns, first mention first."""
    seen: dict[str, None] = {}
    for turns in per_hit:
        for turn in turns:
            seen.setdefault(turn, None)
    return list(seen)


def recall_at(ranked: Sequence[str], evidence: Iterable[str], k: int) -> float:
    wanted = set(evidence)
    return len(wanted.intersection(ranked[:k])) / len(wanted) if wanted else 0.0


def reciprocal_rank(ranked: Sequence[str], evidence: Iterable[str]) -> float:
    wanted = set(evidence)
    for position, turn in enumerate(ranked, start=1):
        if turn in wanted:
            return 1.0 / position
    return 0.0


def recall_all_at(ranked: Sequence[str], evidence: Iterable[str], k: int) -> float:
    wanted = set(evidence)
    return float(bool(wanted) and wanted.issubset(ranked[:k]))


def recall_any_at(ranked: Sequence[str], evidence: Iterable[str], k: int) -> float:
    return float(bool(set(evidence).intersection(ranked[:k])))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100.0 * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LocomoRecall:
    """Evidence recall of a set of LOCOMO questions: the share of each question's evidence
    turns in its top k (``recall[k]`` for k in :data:`LOCOMO_KS`), averaged, and the mean
    reciprocal rank of its first evidence turn."""

    recall: dict[int, float]
    mrr: float
    questions: int

    def to_json(self) -> dict[str, float]:
        data = {f"recall@{k}": value for k, value in self.recall.items()}
        data["mrr"] = self.mrr
        data["questions"] = self.questions
        return data


@dataclass(frozen=True)
class LocomoScores:
    """Recall per LOCOMO category (its code as a string, "1".."5") and pooled over the
    categories 1-4 (None when none of them was scored)."""

    categories: dict[str, LocomoRecall]
    overall_1_4: LocomoRecall | None
    unscored_questions: int

    def to_json(self) -> dict[str, object]:
        return {
            "categories": {code: scores.to_json() for code, scores in self.categories.items()},
            "overall_1_4": self.overall_1_4.to_json() if self.overall_1_4 else {},
            "unscored_questions": self.unscored_questions,
        }


def locomo_scores(rows: Sequence[tuple[int, Sequence[str], Sequence[str]]]) -> LocomoScores:
    """rows: (category, evidence, ranked). Questions without evidence are not scored."""
    by_category: dict[str, list[tuple[Sequence[str], Sequence[str]]]] = {}
    for category, evidence, ranked in rows:
        if evidence:
            by_category.setdefault(str(category), []).append((evidence, ranked))

    def summary(items: list[tuple[Sequence[str], Sequence[str]]]) -> LocomoRecall:
        return LocomoRecall(
            {k: fmean(recall_at(r, e, k) for e, r in items) for k in LOCOMO_KS},
            fmean(reciprocal_rank(r, e) for e, r in items),
            len(items),
        )

    pooled = [item for code in ("1", "2", "3", "4") for item in by_category.get(code, [])]
    return LocomoScores(
        {code: summary(items) for code, items in sorted(by_category.items())},
        summary(pooled) if pooled else None,
        sum(1 for _c, evidence, _r in rows if not evidence),
    )


def is_abstention(question_id: str) -> bool:
    return question_id.endswith("_abs")


@dataclass(frozen=True)
class LongMemEvalRecall:
    """Turn-level recall of a set of LongMemEval questions at each k of
    :data:`LONGMEMEVAL_KS`: all of a question's evidence turns in its top k, or any."""

    recall_all: dict[int, float]
    recall_any: dict[int, float]
    questions: int

    def to_json(self) -> dict[str, float]:
        data: dict[str, float] = {}
        for k in self.recall_all:
            data[f"recall_all@{k}"] = self.recall_all[k]
            data[f"recall_any@{k}"] = self.recall_any[k]
        data["questions"] = self.questions
        return data


@dataclass(frozen=True)
class LongMemEvalScores:
    """Recall per question type and over all scored questions (None when none was)."""

    by_type: dict[str, LongMemEvalRecall]
    overall: LongMemEvalRecall | None
    excluded_abstention: int

    def to_json(self) -> dict[str, object]:
        return {
            "by_type": {qtype: scores.to_json() for qtype, scores in self.by_type.items()},
            "overall": self.overall.to_json() if self.overall else {},
            "excluded_abstention": self.excluded_abstention,
        }


def longmemeval_scores(
    rows: Sequence[tuple[str, str, Sequence[str], Sequence[str]]],
) -> LongMemEvalScores:
    """rows: (question_id, question_type, evidence turns, ranked). Abstention questions
    (ids ending in ``_abs``) and questions with no evidence turn are left out."""
    kept = [(qtype, e, r) for qid, qtype, e, r in rows if not is_abstention(qid) and e]

    def summary(items: list[tuple[str, Sequence[str], Sequence[str]]]) -> LongMemEvalRecall:
        return LongMemEvalRecall(
            {k: fmean(recall_all_at(r, e, k) for _t, e, r in items) for k in LONGMEMEVAL_KS},
            {k: fmean(recall_any_at(r, e, k) for _t, e, r in items) for k in LONGMEMEVAL_KS},
            len(items),
        )

    types = sorted({qtype for qtype, _e, _r in kept})
    return LongMemEvalScores(
        {t: summary([i for i in kept if i[0] == t]) for t in types},
        summary(kept) if kept else None,
        sum(1 for qid, *_ in rows if is_abstention(qid)),
    )

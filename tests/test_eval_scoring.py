"""Benchmark scoring on hand-made rankings: evidence cleaning, distinct turns cut at k,
abstention exclusion, LOCOMO's answer F1."""

from __future__ import annotations

import pytest

from core.answering.reply import NOT_MENTIONED
from evaluation.answer_f1 import contains_answer, locomo_answer_score, normalize_answer, token_f1
from evaluation.scoring import (
    clean_locomo_evidence,
    distinct_turns,
    locomo_scores,
    longmemeval_scores,
    percentile,
    recall_all_at,
    recall_any_at,
    recall_at,
    reciprocal_rank,
)


def test_malformed_locomo_evidence_ids_are_repaired() -> None:
    assert clean_locomo_evidence(["D8:6; D9:17"]) == ["D8:6", "D9:17"]
    assert clean_locomo_evidence(["D:11:26"]) == ["D11:26"]
    assert clean_locomo_evidence(["D30:05", "D30:5"]) == ["D30:5"]
    assert clean_locomo_evidence(["D1:3", "D2:1,D2:4"]) == ["D1:3", "D2:1", "D2:4"]
    assert clean_locomo_evidence([]) == []


def test_a_large_item_cannot_buy_recall() -> None:
    # one memory standing for five turns fills five ranks, not one
    ranked = distinct_turns([["D1:1", "D1:2", "D1:3", "D1:4", "D1:5"], ["D1:2", "D2:9"]])
    assert ranked == ["D1:1", "D1:2", "D1:3", "D1:4", "D1:5", "D2:9"]
    assert recall_at(ranked, ["D2:9"], 5) == 0.0
    assert recall_at(ranked, ["D2:9"], 10) == 1.0
    assert recall_at(ranked, ["D1:1", "D2:9"], 1) == 0.5


def test_reciprocal_rank_and_recall_all_any() -> None:
    ranked = ["a:0", "b:3", "c:1", "d:2"]
    assert reciprocal_rank(ranked, ["c:1"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, ["z:9"]) == 0.0
    assert recall_all_at(ranked, ["a:0", "d:2"], 3) == 0.0
    assert recall_all_at(ranked, ["a:0", "d:2"], 4) == 1.0
    assert recall_any_at(ranked, ["d:2", "z:1"], 4) == 1.0
    assert recall_any_at(ranked, ["d:2"], 3) == 0.0


def test_locomo_scores_per_category_and_pooled_over_1_to_4() -> None:
    rows = [
        (1, ["D1:1", "D2:2"], ["D1:1", "D3:3", "D2:2"]),  # multi-hop: half at 1, all at 5
        (4, ["D5:5"], ["D5:5"]),
        (5, ["D7:7"], ["D9:9"]),  # adversarial: scored on its own, not in overall_1_4
        (2, [], ["D1:1"]),  # no evidence: not scored
    ]
    scores = locomo_scores(rows)
    assert scores.categories["1"].recall[1] == 0.5
    assert scores.categories["1"].recall[5] == 1.0
    assert scores.categories["5"].recall[20] == 0.0
    assert "2" not in scores.categories
    assert scores.overall_1_4 is not None
    assert scores.overall_1_4.questions == 2
    assert scores.overall_1_4.recall[1] == pytest.approx(0.75)
    assert scores.overall_1_4.mrr == pytest.approx(1.0)
    assert scores.unscored_questions == 1
    # the JSON that `rememora eval` writes keeps the published keys
    assert scores.categories["1"].to_json() == {
        "recall@1": 0.5,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "recall@20": 1.0,
        "mrr": 1.0,
        "questions": 1,
    }
    assert set(scores.to_json()) == {"categories", "overall_1_4", "unscored_questions"}
    assert locomo_scores([(2, [], ["D1:1"])]).to_json()["overall_1_4"] == {}


def test_longmemeval_leaves_abstention_questions_out() -> None:
    rows = [
        ("q1", "multi-session", ["s1:0", "s2:4"], ["s1:0", "x:1", "s2:4"]),
        ("q2", "multi-session", ["s3:1"], ["x:0"] * 1 + ["s3:1"]),
        ("q3_abs", "multi-session", ["s9:9"], ["nothing:0"]),  # would pull every score down
        ("q4", "knowledge-update", [], ["s1:0"]),  # no evidence turn: not scored
    ]
    scores = longmemeval_scores(rows)
    assert scores.excluded_abstention == 1
    overall = scores.overall
    assert overall is not None
    assert overall.questions == 2
    assert overall.recall_all[5] == 1.0
    assert scores.by_type["multi-session"].recall_any[10] == 1.0
    assert "knowledge-update" not in scores.by_type
    assert list(overall.to_json()) == [
        "recall_all@5",
        "recall_any@5",
        "recall_all@10",
        "recall_any@10",
        "recall_all@20",
        "recall_any@20",
        "questions",
    ]
    assert set(scores.to_json()) == {"by_type", "overall", "excluded_abstention"}


def test_percentile_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([], 95) == 0.0


def test_locomo_answer_f1_normalisation() -> None:
    assert normalize_answer("The Sunrise, and a Lake!") == "sunrise lake"
    assert token_f1("She painted a sunrise", "sunrise") == pytest.approx(0.5)  # P 1/3, R 1
    assert token_f1("painting sunrises", "painted sunrise") == 1.0  # Porter stems
    assert token_f1("blue", "red") == 0.0
    assert locomo_answer_score(3, "psychology", "Psychology; counseling") == 1.0
    assert locomo_answer_score(
        1, "camping, pottery", "pottery, camping, painting"
    ) == pytest.approx(2 / 3)
    assert locomo_answer_score(5, "No information available.", "anything") == 1.0
    assert locomo_answer_score(5, "She went to Paris.", "anything") == 0.0


def test_contains_answer_needs_the_whole_gold_answer_as_words() -> None:
    assert contains_answer("She moved to the Blue Lake cabin in May.", "blue lake cabin") == 1.0
    assert contains_answer("Blue lakes", "the blue lake") == 1.0  # normalised, stemmed
    assert contains_answer("A lake, blue and cold", "blue lake") == 0.0
    assert contains_answer("Bluelake", "blue lake") == 0.0
    assert contains_answer("anything", "") == 0.0
    # the reader's "not mentioned" scores as an adversarial abstention
    assert locomo_answer_score(5, NOT_MENTIONED, "anything") == 1.0

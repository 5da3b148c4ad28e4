"""`rememora eval locomo|longmemeval` end to end on a small slice of the real benchmark
files (skipped only when ../shared/bench is absent): the real CLI, fresh stores built
through the write path, the real retrieval path, and scores that the dump reproduces."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from evaluation.scoring import clean_locomo_evidence, locomo_scores, longmemeval_scores
from tests.conftest import SHARED_BENCH, run_cli

LOCOMO = SHARED_BENCH / "locomo" / "locomo_dev.json"
LONGMEMEVAL = SHARED_BENCH / "longmemeval" / "longmemeval_s_dev.json.gz"
pytestmark = pytest.mark.skipif(
    not LOCOMO.exists() or not LONGMEMEVAL.exists(), reason="../shared/bench is absent"
)


def _locomo_slice(folder: Path) -> Path:
    """conv-26's first three sessions and the questions whose evidence lies in them."""
    conversation = json.loads(LOCOMO.read_text(encoding="utf-8"))[0]
    kept = {f"D{n}" for n in (1, 2, 3)}
    conv = {
        k: v
        for k, v in conversation["conversation"].items()
        if not k.startswith("session_") or k.split("_")[1] in {"1", "2", "3"}
    }
    qa = [
        q
        for q in conversation["qa"]
        if q.get("evidence")
        and all(e.split(":")[0] in kept for e in clean_locomo_evidence(q["evidence"]))
    ]
    path = folder / "locomo_slice.json"
    path.write_text(json.dumps([{**conversation, "conversation": conv, "qa": qa[:12]}]))
    return path


def _longmemeval_slice(folder: Path) -> Path:
    """Two questions, each with its evidence sessions and four other haystack sessions."""
    questions = json.loads(gzip.decompress(LONGMEMEVAL.read_bytes()))
    picked = [questions[0], next(q for q in questions if q["question_id"].endswith("_abs"))]
    sliced = []
    for q in picked:
        keep = [
            i for i, s in enumerate(q["haystack_sessions"]) if any(t.get("has_answer") for t in s)
        ]
        keep += [i for i in range(len(q["haystack_sessions"])) if i not in keep][:4]
        keep.sort()
        sliced.append(
            {
                **q,
                **{
                    key: [q[key][i] for i in keep]
                    for key in ("haystack_sessions", "haystack_dates", "haystack_session_ids")
                },
            }
        )
    path = folder / "longmemeval_slice.json.gz"
    path.write_bytes(gzip.compress(json.dumps(sliced).encode()))
    return path


def _dump(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_eval_locomo_on_a_slice(data_dir: Path, tmp_path: Path) -> None:
    source = _locomo_slice(tmp_path)
    out, dump = tmp_path / "locomo.json", tmp_path / "locomo.jsonl"
    done = run_cli(
        data_dir,
        "eval",
        "locomo",
        str(source),
        "--conversations",
        "conv-26",
        "--json",
        str(out),
        "--dump",
        str(dump),
        "--answer",
        "--limit",
        "2",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert set(report["overall_1_4"]) >= {"recall@1", "recall@5", "recall@10", "recall@20", "mrr"}
    assert report["categories"]["4"]["recall@10"] >= 0.5
    assert report["query_ms_p95"] > 0 and report["ingest_seconds"] > 0 and report["store_bytes"] > 0
    # answers from the real tiny model, scored with LOCOMO's token F1 on the first two
    assert report["answer_f1"]["questions"] == 2
    assert 0.0 <= report["answer_f1"]["overall"] <= 1.0
    times = report["answer_f1"]["times"]
    assert 0 < times["ttft_s_p50"] <= times["ttft_s_p95"] <= times["total_s_p95"]
    assert times["ttft_s_p50"] <= times["total_s_p50"] <= times["total_s_p95"]
    lines = _dump(dump)
    qa = json.loads(source.read_text())[0]["qa"]
    assert [line["id"] for line in lines] == [f"conv-26#{i}" for i in range(len(qa))]
    # the answered questions' lines carry the answer, its citations, score and times
    answered = [line for line in lines if "answer" in line]
    assert len(answered) == 2 and all("answer" not in line for line in lines[2:])
    for line in answered:
        assert str(line["answer"]).strip() and isinstance(line["cited"], list)
        assert isinstance(line["supported"], bool) and 0.0 <= float(line["score"]) <= 1.0
        assert 0 < float(line["ttft_s"]) <= float(line["total_s"])
    for line in lines:
        ranked = line["ranked"]
        assert len(ranked) >= 20 and len(set(ranked)) == len(ranked)
        assert all(str(t).startswith("D") and ":" in str(t) for t in ranked)
    # anyone can recompute the scores from the ranking alone
    again = locomo_scores(
        [
            (q["category"], clean_locomo_evidence(q["evidence"]), line["ranked"])
            for q, line in zip(qa, lines)
        ]
    ).to_json()
    assert again["overall_1_4"]["recall@10"] == pytest.approx(report["overall_1_4"]["recall@10"])
    unknown = run_cli(
        data_dir,
        "eval",
        "locomo",
        str(source),
        "--conversations",
        "conv-99",
        "--json",
        str(tmp_path / "x.json"),
    )
    assert unknown.returncode != 0 and unknown.stderr.startswith("rememora: error: ")
    assert not (tmp_path / "x.json").exists()


def test_eval_longmemeval_on_a_slice(data_dir: Path, tmp_path: Path) -> None:
    source = _longmemeval_slice(tmp_path)
    out, dump = tmp_path / "lme.json", tmp_path / "lme.jsonl"
    done = run_cli(
        data_dir,
        "eval",
        "longmemeval",
        str(source),
        "--limit",
        "2",
        "--json",
        str(out),
        "--dump",
        str(dump),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert report["excluded_abstention"] == 1 and report["overall"]["questions"] == 1
    assert set(report["overall"]) >= {"recall_all@5", "recall_all@10", "recall_any@10"}
    assert report["query_ms_p95"] > 0
    lines = _dump(dump)
    assert [line["id"] for line in lines] == [
        q["question_id"] for q in json.loads(gzip.decompress(source.read_bytes()))
    ]
    first = json.loads(gzip.decompress(source.read_bytes()))[0]
    evidence = [
        f"{sid}:{i}"
        for sid, s in zip(first["haystack_session_ids"], first["haystack_sessions"])
        for i, t in enumerate(s)
        if t.get("has_answer")
    ]
    assert all(":" in t for t in lines[0]["ranked"]) and len(lines[0]["ranked"]) >= 20
    again = longmemeval_scores(
        [(first["question_id"], first["question_type"], evidence, lines[0]["ranked"])]
    ).to_json()
    assert again["overall"]["recall_all@10"] == report["overall"]["recall_all@10"]

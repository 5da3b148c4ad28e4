"""Score a LongMemEval `--dump` file (one JSON line per question: id, question_type,
ranked turn ids) against the dev file, with the harness's own scoring. Useful for a run
that was stopped part-way (the dump is flushed per question) and for checking a dump
written by anyone else.

    PYTHONPATH=. python bench/score_longmemeval_dump.py bench/out/eval_longmemeval_all-minilm-l6-v2.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation.longmemeval import haystack_events, load_longmemeval
from evaluation.scoring import longmemeval_scores

LONGMEMEVAL = ROOT.parent / "shared" / "bench" / "longmemeval" / "longmemeval_s_dev.json.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path)
    parser.add_argument("--data", type=Path, default=LONGMEMEVAL)
    args = parser.parse_args()
    questions = {q["question_id"]: q for q in load_longmemeval(args.data)}
    rows = []
    for line in args.dump.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        _events, evidence = haystack_events(questions[record["id"]])
        rows.append((record["id"], record["question_type"], evidence, record["ranked"]))
    report = longmemeval_scores(rows)
    report["dumped_questions"] = len(rows)
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Score routing and extraction on the labelled snippets in memory_extraction_cases.py.

    PYTHONPATH=$PWD python bench/memory_extraction.py --model qwen2.5-coder-0.5b
    PYTHONPATH=$PWD python bench/memory_extraction.py --model smollm2-135m --limit 10
    PYTHONPATH=$PWD python bench/memory_extraction.py --model smollm2-135m --route-only

Writes bench/out/memory_extraction_<model>.json: routing accuracy (exact set, and per type
precision/recall; model alone and model + rules), extraction precision/recall per type,
and seconds per snippet. ``--route-only`` asks the model the yes/no routing question for
EVERY type (not only those core.ingest.routing.MODEL_ROUTED uses) and runs no extractor: it
writes memory_extraction_route_<model>.json, from which MODEL_ROUTED is chosen. Pass
--table to print a table of every JSON file in bench/out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from memory_extraction_cases import CASES

from core.ingest.batch_extraction import (
    extract_batch,
    pattern_vault_candidates,
    route_margin,
)
from core.ingest.routing import combine, rule_routes
from core.ingest.type_extractors import Candidate, normalize
from core.records import Event, EventId, EventKind, EventStatus, MemoryType
from models.assembly import ensure_model_file
from models.llm import LlamaCppLLM
from models.registry import LLM_MODELS, model_wheel_dir

NOW = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)
OUT = REPO / "bench" / "out"


def interleaved(cases: list[dict[str, object]]) -> list[dict[str, object]]:
    """Round-robin over the cases' first expected type, so a run cut short (``--limit``)
    still covers every type."""
    queues: dict[str, list[dict[str, object]]] = {}
    for case in cases:
        queues.setdefault(str(case["types"][0]), []).append(case)  # type: ignore[index]
    order: list[dict[str, object]] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                order.append(queue.pop(0))
    return order


def events_of(case: dict[str, object]) -> list[Event]:
    turns = case["turns"]
    assert isinstance(turns, list)
    return [
        Event(
            EventId(i),
            EventKind.SCREEN if speaker == "screen" else EventKind.CHAT,
            text,
            NOW,
            None if speaker == "screen" else speaker,
            "",
            {},
            EventStatus.PENDING,
            0,
        )
        for i, (speaker, text) in enumerate(turns, start=1)
    ]


def haystack(candidate: Candidate) -> str:
    return " ".join([candidate.text, candidate.secret, *candidate.fields.values()]).lower()


def matches(candidate: Candidate, keywords: list[str]) -> bool:
    text = haystack(candidate)
    return all(k.lower() in text or normalize(k) in normalize(text) for k in keywords)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def score(results: list[dict[str, object]]) -> dict[str, object]:
    types = [t.value for t in MemoryType]
    summary: dict[str, object] = {"snippets": len(results)}
    for routed_key in ("routed_by_rules", "routed_by_model", "routed"):
        exact = sum(set(r[routed_key]) == set(r["expected_types"]) for r in results)  # type: ignore[arg-type]
        per_type = {}
        for t in types:
            tp = sum(t in r[routed_key] and t in r["expected_types"] for r in results)  # type: ignore[operator]
            fp = sum(t in r[routed_key] and t not in r["expected_types"] for r in results)  # type: ignore[operator]
            fn = sum(t not in r[routed_key] and t in r["expected_types"] for r in results)  # type: ignore[operator]
            per_type[t] = {"precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn)}
        summary[f"{routed_key}_exact_accuracy"] = _ratio(exact, len(results))
        summary[f"{routed_key}_per_type"] = per_type
    extraction = {}
    for t in types:
        expected = sum(f[0] == t for r in results for f in r["expected_facts"])  # type: ignore[attr-defined]
        found = sum(f[0] == t and f[2] for r in results for f in r["expected_facts"])  # type: ignore[attr-defined]
        produced = sum(c["type"] == t for r in results for c in r["candidates"])  # type: ignore[attr-defined]
        useful = sum(c["type"] == t and c["matches"] for r in results for c in r["candidates"])  # type: ignore[attr-defined]
        extraction[t] = {
            "expected": expected,
            "recall": _ratio(found, expected),
            "candidates": produced,
            "precision": _ratio(useful, produced),
        }
    summary["extraction"] = extraction
    return summary


def _report(
    model_name: str, threads: int, started: float, results: list[dict[str, object]]
) -> dict[str, object]:
    return {
        "model": model_name,
        "threads": threads,
        "when": datetime.now(UTC).isoformat(),
        "seconds_total": round(time.perf_counter() - started, 1),
        "note": "taken on a shared, loaded 2-core machine",
        **score(results),
        "cases": results,
    }


def route_case(
    llm: LlamaCppLLM, events: list[Event]
) -> tuple[list[str], list[str], list[str], dict[str, float]]:
    """Rules, the model's yes for every type (and its calibrated margins), and what
    core.ingest.routing combines of them."""
    by_rules = rule_routes(
        "\n".join(e.text for e in events), bool(pattern_vault_candidates(events))
    )
    margins = {t: route_margin(llm, events, NOW, t) for t in MemoryType}
    by_model = [t for t in MemoryType if margins[t] > 0]
    return (
        [t.value for t in MemoryType if t in by_rules],
        [t.value for t in by_model],
        [t.value for t in combine(by_model, by_rules)],
        {t.value: round(m, 2) for t, m in margins.items()},
    )


def run(
    model_name: str, models_dir: Path, limit: int, threads: int, route_only: bool = False
) -> dict[str, object]:
    """Score the cases one by one, rewriting the JSON after each (a cut-short run still
    leaves the scores of the cases it finished)."""
    path = ensure_model_file(LLM_MODELS[model_name], models_dir, model_wheel_dir())
    llm = LlamaCppLLM(model_name, path, n_ctx=2048, n_threads=threads)
    llm.load()
    name = f"route_{model_name}" if route_only else model_name
    results: list[dict[str, object]] = []
    started = time.perf_counter()
    cases = interleaved(CASES)
    for number, case in enumerate(cases[:limit] if limit else cases, start=1):
        events = events_of(case)
        t0 = time.perf_counter()
        error = ""
        margins: dict[str, float] = {}
        try:
            if route_only:
                routed_rules, routed_model, routed, margins = route_case(llm, events)
                candidates = []
            else:
                extraction = extract_batch(llm, events, NOW)
                routed_rules = [t.value for t in extraction.routed_by_rules]
                routed_model = [t.value for t in extraction.routed_by_model]
                routed = [t.value for t in extraction.routed]
                candidates = list(extraction.candidates)
        except Exception as exc:  # a failed batch scores as nothing routed or found
            error, routed_rules, routed_model, routed, candidates = repr(exc), [], [], [], []
        facts = [
            (t, kws, any(c.type.value == t and matches(c, kws) for c in candidates))
            for t, kws in case["facts"]
        ]  # type: ignore[attr-defined]
        results.append(
            {
                "turns": case["turns"],
                "expected_types": case["types"],
                "routed_by_rules": routed_rules,
                "routed_by_model": routed_model,
                "routed": routed,
                "margins": margins,
                "expected_facts": facts,
                "error": error,
                "candidates": [
                    {
                        "type": c.type.value,
                        "text": c.text,
                        "secret": c.secret,
                        "actor": c.actor,
                        "matches": any(
                            f[0] == c.type.value and matches(c, f[1]) for f in case["facts"]
                        ),
                    }  # type: ignore[attr-defined]
                    for c in candidates
                ],
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
        _write(name, _report(model_name, threads, started, results))
        print(
            f"[{number}/{len(CASES)}] {results[-1]['seconds']}s routed={routed} "
            f"facts={[f[2] for f in facts]}",
            flush=True,
        )
    return _report(model_name, threads, started, results)


def _write(model_name: str, report: dict[str, object]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"memory_extraction_{model_name}.json"
    out.write_text(json.dumps(report, indent=1))
    return out


def table() -> None:
    rows = []
    for path in sorted(OUT.glob("memory_extraction_*.json")):
        data = json.loads(path.read_text())
        rows.append((path.stem.removeprefix("memory_extraction_"), data))
    for name, data in rows:
        print(
            f"\n{name}: {data['snippets']} snippets, {data['seconds_total']}s total; routing "
            f"exact-set accuracy: rules {data.get('routed_by_rules_exact_accuracy')}, model "
            f"{data['routed_by_model_exact_accuracy']}, combined {data['routed_exact_accuracy']}"
        )
        print(
            f"{'type':<11}{'rules P/R':>12}{'model P/R':>12}{'routed P/R':>12}"
            f"{'expected':>9}{'recall':>8}{'cands':>7}{'precision':>10}"
        )
        for t, s in data["extraction"].items():
            pr = [
                data.get(f"{k}_per_type", {}).get(t, {})
                for k in ("routed_by_rules", "routed_by_model", "routed")
            ]
            cells = "".join(
                f"{str(p.get('precision')) + '/' + str(p.get('recall')):>12}" for p in pr
            )
            print(
                f"{t:<11}{cells}{s['expected']:>9}{str(s['recall']):>8}{s['candidates']:>7}"
                f"{str(s['precision']):>10}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=sorted(LLM_MODELS))
    parser.add_argument("--models-dir", type=Path, default=Path("/tmp/rememora-bench-models"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--route-only", action="store_true")
    args = parser.parse_args()
    if args.table:
        table()
        return
    report = run(args.model, args.models_dir, args.limit, args.threads, args.route_only)
    out = _write(f"route_{args.model}" if args.route_only else args.model, report)
    print(json.dumps({k: v for k, v in report.items() if k != "cases"}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

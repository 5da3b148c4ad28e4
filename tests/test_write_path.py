"""The write path on input nobody tuned it to: learned routing, sensitive values no
pattern knows, grounding (nothing invented), procedures that keep every step, and
changed facts that supersede. The snippets here are written for these tests; none comes
from the labelled set in bench/snippets_v2 or from ../shared/bench."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import assets
from core.ingest import learned_router
from core.ingest.batch_extraction import BatchExtraction
from core.ingest.grounding import source_steps, supported, with_source_steps
from core.ingest.pipeline import IngestReport, apply_extraction
from core.ingest.reconcile import Reconciler
from core.ingest.type_extractors import EXTRACTORS, Candidate, ItemContext
from core.records import Event, EventId, EventKind, EventStatus, MemoryStatus, MemoryType
from core.service import Service
from tests.conftest import run_cli

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DEPLOY = (
    "To deploy the website I run the tests, then build the docker image, then push it to "
    "the registry, then restart the server."
)


def _events(*texts: str, speaker: str = "user") -> list[Event]:
    return [
        Event(EventId(i), EventKind.CHAT, t, MONDAY, speaker, "chat", {}, EventStatus.PENDING, 0)
        for i, t in enumerate(texts, start=1)
    ]


def test_shipped_router_is_numbers_only_and_routes_new_wording(embedder) -> None:  # type: ignore[no-untyped-def]
    with np.load(assets.path(learned_router.MODEL_FILE), allow_pickle=False) as data:
        assert set(data.files) == {"types", "weights", "bias", "thresholds", "embedder"}
        assert data["weights"].dtype.kind == "f" and data["types"].shape == (6,)
    router = learned_router.for_embedder(embedder.name)
    assert router is not None

    def routed(*texts: str, speaker: str = "user") -> set[str]:
        events = _events(*texts, speaker=speaker)
        vectors = embedder.embed(learned_router.windows(events))
        return {t.value for t in router.routes(events, vectors)}

    assert routed("lol ok see ya") == set()  # chit-chat costs no model call
    assert routed(DEPLOY) == {"procedural"}
    assert routed("The quarterly plan is in plans/q3_roadmap.pdf") == {"resource"}
    assert routed("The side gate of the allotment opens with 6051.") == {"vault"}
    assert "semantic" in routed("My cousin Ilse breeds alpacas near Utrecht.")
    assert "episodic" in routed("We went bowling with the Hendersons on Saturday night.")
    # core memory is about the user: another speaker's self-description is not core
    assert "core" in routed("I work as a data engineer at Acme Corp.")
    assert "core" not in routed("I work as a data engineer at Acme Corp.", speaker="Ilse")


def test_sensitive_values_no_pattern_knows_never_reach_a_file_in_clear(
    data_dir: Path,
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    values = ["6051", "heron-moss-77", "BC-770912"]
    with Service(data_dir, embedder=embedder) as service:
        for minute, text in enumerate(
            [
                "The side gate of the allotment opens with 6051.",
                "Cabin wifi is called PineLodge, passphrase heron-moss-77.",
                "My bowling club membership is BC-770912.",
            ]
        ):
            service.add_chat_turn("me", text, MONDAY + timedelta(minutes=minute))
        report = service.record_events()  # no model needed: found as the events are recorded
        assert report.ops[("ADD", "vault")] == 3
        vault = service.list_memories(MemoryType.VAULT)
        assert sorted(service.vault_value(v.id) for v in vault) == sorted(values)
        assert all(value not in v.text for v in vault for value in values)
        raw = [m.text for m in service.list_memories(MemoryType.EPISODIC)]
        assert len(raw) == 3 and all("[in vault]" in text for text in raw)
        assert "PineLodge" in raw[1]  # the rest of what was said is kept
    on_disk = [p for p in data_dir.rglob("*") if p.is_file() and p.name != "vault.key"]
    assert any("chroma" in str(p) for p in on_disk)
    for path in on_disk:
        data = path.read_bytes()
        for value in values:
            assert value.encode() not in data, f"{value} in clear in {path}"


def test_grounding_drops_what_the_events_do_not_say() -> None:
    ctx = ItemContext((EventId(1),), MONDAY)
    convert = EXTRACTORS[MemoryType.SEMANTIC].convert
    item = {"subject": "Ana", "attribute": "job", "value": "nurse", "when": ""}
    invented = convert({**item, "statement": "Ana works as a nurse"}, ctx)
    real = convert(
        {
            "subject": "Rufus",
            "attribute": "pet",
            "value": "tortoise",
            "when": "",
            "statement": "Rufus is a tortoise",
        },
        ctx,
    )
    source = "Our tortoise is called Rufus and he loves strawberries."
    assert invented is not None and real is not None
    assert not supported(invented, source) and supported(real, source)
    vault = Candidate(MemoryType.VAULT, "code", "k", (EventId(1),), MONDAY, {}, "high", "9911")
    assert not supported(vault, "the code is 1199")  # a value must be copied exactly


def test_procedure_keeps_every_step_in_order() -> None:
    purpose, steps = source_steps(DEPLOY)
    assert purpose == "To deploy the website"
    assert steps == [
        "Run the tests",
        "Build the docker image",
        "Push it to the registry",
        "Restart the server",
    ]
    # the model dropped the first step and made up a trigger: the source's steps win
    lossy = Candidate(
        MemoryType.PROCEDURAL,
        "Deploying the website",
        "deploying the website",
        (EventId(1),),
        MONDAY,
        {
            "title": "Deploying the website",
            "trigger": "When the tests are run",
            "steps": "1. Build the image\n2. Push it\n3. Restart the server",
        },
    )
    fixed = with_source_steps(lossy, DEPLOY)
    assert fixed.fields["trigger"] == "To deploy the website"
    assert fixed.fields["steps"].splitlines()[0] == "1. Run the tests"
    assert len(fixed.fields["steps"].splitlines()) == 4 and supported(fixed, DEPLOY)
    assert fixed.fields["title"] == "Deploying the website"  # the source supports it: kept
    # a title the source does not say gives way to the purpose it states
    garbled = replace(lossy, fields={**lossy.fields, "title": "Help them with anything"})
    titled = with_source_steps(garbled, DEPLOY)
    assert titled.fields["title"] == "Deploy the website" and supported(titled, DEPLOY)
    assert titled.text.startswith("Deploy the website:\n1. Run the tests")


def _semantic(subject: str, attribute: str, value: str, statement: str) -> Candidate:
    item = {
        "subject": subject,
        "attribute": attribute,
        "value": value,
        "statement": statement,
        "when": "",
    }
    made = EXTRACTORS[MemoryType.SEMANTIC].convert(item, ItemContext((EventId(0),), MONDAY))
    assert made is not None
    return made


def test_a_changed_job_supersedes_under_another_attribute_name(service: Service) -> None:
    reconciler = Reconciler(
        service.store, service.runtime.index, service.runtime.embedder, service.runtime.cipher
    )
    for minute, (text, candidate) in enumerate(
        [
            (
                "I work as a data engineer at Acme Corp.",
                _semantic(
                    "I",
                    "occupation",
                    "data engineer at Acme Corp",
                    "The user works as a data engineer at Acme Corp",
                ),
            ),
            (
                "I left Acme Corp last month; now I work as a data engineer at Globex.",
                _semantic(
                    "user",
                    "job",
                    "data engineer at Globex",
                    "The user works as a data engineer at Globex",
                ),
            ),
        ]
    ):
        event = service.add_chat_turn("user", text, MONDAY + timedelta(days=minute))
        service.record_events()
        batch = service.store.pending_batches()[-1]
        candidate = Candidate(**{**candidate.__dict__, "source_event_ids": (event,)})
        apply_extraction(
            service.store,
            reconciler,
            batch.id,
            BatchExtraction((), (), (candidate,)),
            IngestReport(),
        )
    facts = service.list_memories(MemoryType.SEMANTIC, include_inactive=True)
    current = [m for m in facts if m.status is MemoryStatus.ACTIVE]
    past = [m for m in facts if m.status is MemoryStatus.SUPERSEDED]
    assert [m.fields["value"] for m in current] == ["data engineer at Globex"]
    assert [m.fields["value"] for m in past] == ["data engineer at Acme Corp"]
    assert any(h.op == "SUPERSEDE" for h in service.history(past[0].id))


def _prompt_phrases() -> set[str]:
    """Every run of three words in the extraction prompts."""
    words_of = lambda text: re.findall(r"[a-z']+", text.lower())  # noqa: E731
    phrases = set()
    for name in ["memory_system.txt", "extract_all.txt", *(e.prompt for e in EXTRACTORS.values())]:
        words = words_of(assets.read_text(f"prompts/{name}"))
        phrases |= {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
    return phrases


@pytest.mark.llm
def test_prompt_wording_never_comes_back_as_a_memory(data_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    said = [
        "Our tortoise is called Rufus and he loves strawberries.",
        "I work nights at the bakery on Quay Street.",
        "To make the glaze, melt the butter, whisk in the sugar, then pour it over the buns.",
        "The minutes from Thursday are in shared/minutes_1127.docx",
        "Last night we watched the meteor shower from the dunes.",
    ]
    with Service(data_dir, embedder=embedder) as service:
        seeded = [m.text for m in service.list_memories()]  # the store's own core blocks
        for minute, text in enumerate(said):
            service.add_chat_turn("user", text, MONDAY + timedelta(hours=minute))
        report = service.ingest()
        assert not report.failed_batches
        memories = service.list_memories(include_inactive=True)
    heard = " ".join(w for t in said for w in re.findall(r"[a-z']+", t.lower()))
    phrases = {p for p in _prompt_phrases() if p not in heard}
    for memory in memories:
        text = memory.text
        for seed in seeded:
            text = text.replace(seed, " ")
        words = re.findall(r"[a-z']+", text.lower())
        made = {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
        assert not (made & phrases), (memory.text, made & phrases)
        assert "ana" not in words and "nurse" not in words  # the old prompts' example


@pytest.mark.llm
def test_changed_facts_through_the_cli_tiny_model_structure(data_dir: Path) -> None:
    """The Acme/Globex pair and the deploy procedure with the tiny model: every batch done
    in one model call at most, what was made is grounded, and a superseded fact has a
    successor. (The default model's content is checked in the slow test below.)"""
    for text in ["I work as a data engineer at Acme Corp.", DEPLOY]:
        assert run_cli(data_dir, "chat", "add", "--speaker", "me", text).returncode == 0
    assert run_cli(data_dir, "ingest", timeout=900).returncode == 0
    changed = "I left Acme Corp last month; now I work as a data engineer at Globex."
    assert run_cli(data_dir, "chat", "add", "--speaker", "me", changed).returncode == 0
    ingested = run_cli(data_dir, "ingest", timeout=900)
    assert ingested.returncode == 0, ingested.stderr
    listed = run_cli(data_dir, "memories", "list", "--all", "--json")
    memories = [json.loads(line) for line in listed.stdout.splitlines()]
    procedures = [m for m in memories if m["type"] == "procedural"]
    for procedure in procedures:  # when there is one, it has every step, in order
        assert procedure["fields"]["steps"].splitlines()[0] == "1. Run the tests"
    assert "batch(es)" in ingested.stdout
    for memory in memories:
        if memory["status"] == "superseded":
            assert memory.get("successor_id")


@pytest.mark.slow
@pytest.mark.xfail(
    reason="qwen 0.5b keys the Acme fact under the deploy turn's subject, so Globex does "
    "not supersede it (measured 2026-12-02); open in issue 11",
    strict=False,
)
def test_acme_globex_and_deploy_on_the_default_model(tmp_path: Path) -> None:
    """Through `rememora chat add` and `rememora ingest` on qwen2.5-coder-0.5b."""
    from models.assembly import ensure_model_file
    from models.registry import LLM_MODELS, model_wheel_dir

    models = tmp_path / "models"
    models.mkdir()
    ensure_model_file(LLM_MODELS["qwen2.5-coder-0.5b"], models, model_wheel_dir())
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "settings.toml").write_text(
        '[llm]\nmodel = "qwen2.5-coder-0.5b"\nn_ctx = 2048\n', encoding="utf-8"
    )
    (data_dir / "models").symlink_to(models, target_is_directory=True)
    for text in ["I work as a data engineer at Acme Corp.", DEPLOY]:
        assert run_cli(data_dir, "chat", "add", "--speaker", "me", text).returncode == 0
    assert run_cli(data_dir, "ingest", timeout=900).returncode == 0
    changed = "I left Acme Corp last month; now I work as a data engineer at Globex."
    assert run_cli(data_dir, "chat", "add", "--speaker", "me", changed).returncode == 0
    ingested = run_cli(data_dir, "ingest", timeout=900)
    assert ingested.returncode == 0, ingested.stderr
    listed = run_cli(data_dir, "memories", "list", "--all", "--json")
    memories = [json.loads(line) for line in listed.stdout.splitlines()]
    semantic = [m for m in memories if m["type"] == "semantic"]
    current = [m for m in semantic if m["status"] == "active" and "globex" in m["text"].lower()]
    past = [m for m in semantic if m["status"] == "superseded" and "acme" in m["text"].lower()]
    assert current and past, [(m["status"], m["text"]) for m in semantic]
    [procedure] = [m for m in memories if m["type"] == "procedural"]
    assert procedure["fields"]["steps"].splitlines() == [
        "1. Run the tests",
        "2. Build the docker image",
        "3. Push it to the registry",
        "4. Restart the server",
    ]

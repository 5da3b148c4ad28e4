"""`rememora export` and `rememora import` through the real CLI: a round trip into an
empty store gives the same memories, history and answers; damaged, truncated,
wrong-passphrase and other bad archives are refused with one line and change nothing;
duplicates are skipped; vault values never sit in an unencrypted archive."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from app.commands.archive import parse_since, parse_types
from core.errors import RememoraError
from core.records import MemoryType
from core.service import ExportOptions, Service
from tests.archive_helpers import PASSPHRASE, SECRET, fill, new_store, snapshot
from tests.conftest import run_cli


def _env_cli(folder: Path, *args: str, passphrase: str | None = PASSPHRASE):
    old = os.environ.get("REMEMORA_EXPORT_PASSPHRASE")
    if passphrase is None:
        os.environ.pop("REMEMORA_EXPORT_PASSPHRASE", None)
    else:
        os.environ["REMEMORA_EXPORT_PASSPHRASE"] = passphrase
    try:
        return run_cli(folder, *args)
    finally:
        if old is None:
            os.environ.pop("REMEMORA_EXPORT_PASSPHRASE", None)
        else:
            os.environ["REMEMORA_EXPORT_PASSPHRASE"] = old


def _one_line_error(done) -> str:  # type: ignore[no-untyped-def]
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1, done.stderr
    assert lines[0].startswith("rememora: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory, shared_models: Path, embedder) -> Path:  # type: ignore[no-untyped-def]
    folder = new_store(tmp_path_factory.mktemp("archive"), "source", shared_models)
    with Service(folder, embedder=embedder) as service:
        fill(service)
    return folder


@pytest.fixture(scope="module")
def archives(source: Path) -> dict[str, Path]:
    tmp_path = source.parent
    sealed, plain = tmp_path / "sealed.rememora", tmp_path / "plain.tar.gz"
    done = _env_cli(source, "export", str(sealed), "--passphrase")
    assert done.returncode == 0, done.stderr
    done = _env_cli(source, "export", str(plain), passphrase=None)
    assert done.returncode == 0, done.stderr
    assert "1 vault entries left out" in done.stdout
    return {"sealed": sealed, "plain": plain}


def _memories(folder: Path, embedder) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    with Service(folder, embedder=embedder) as service:
        rows = []
        for m in service.list_memories(include_inactive=True):
            fields = dict(m.fields)
            if m.type is MemoryType.VAULT:
                fields["value"] = service.vault_value(m.id)
            history = [
                (h.op, h.actor, h.reason, tuple(h.source_event_ids), h.at)
                for h in service.history(m.id)
                if h.op != "IMPORT"
            ]
            events = [
                (e.kind, e.text, e.speaker, e.occurred_at)
                for e in service.events(list(m.source_event_ids))
            ]
            rows.append(
                (
                    m.type,
                    m.text,
                    json.dumps(fields, sort_keys=True),
                    m.status,
                    m.version,
                    m.event_time,
                    m.created_at if m.type is not MemoryType.CORE else None,
                    tuple(events),
                    tuple(history) if m.type is not MemoryType.CORE else (),
                )
            )
        return sorted(rows, key=repr)


def test_export_lists_members_with_sha256_and_keeps_vault_out_of_plain(
    archives: dict[str, Path],
) -> None:
    plain = archives["plain"]
    with tarfile.open(plain, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names[:4] == ["manifest.json", "events.jsonl", "memories.jsonl", "history.jsonl"]
    assert sum(n.startswith("media/") for n in names) == 2
    assert manifest["format_version"] == 1 and manifest["sealed"] is False
    assert manifest["embedding_model"] == "all-minilm-l6-v2"
    assert [m["name"] for m in manifest["members"]] == names[1:]
    assert all(len(m["sha256"]) == 64 for m in manifest["members"])
    assert "vault" not in manifest["types"] and manifest["counts"]["media"] == 2
    assert SECRET.encode() not in gzip.decompress(plain.read_bytes())
    sealed = archives["sealed"].read_bytes()
    assert SECRET.encode() not in sealed and b"Porto" not in sealed  # encrypted
    assert (archives["sealed"].stat().st_mode & 0o777) == 0o600


def test_round_trip_gives_the_same_memories_history_and_answers(
    archives: dict[str, Path], source: Path, tmp_path: Path, shared_models: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    target = new_store(tmp_path, "target", shared_models)
    done = _env_cli(target, "import", str(archives["sealed"]))
    assert done.returncode == 0, done.stderr
    assert "imported 5 memories (1 already here)" in done.stdout  # the persona block
    assert _memories(target, embedder) == _memories(source, embedder)
    assert sorted((target / "media").rglob("*.frame")) != []  # sealed at rest
    assert snapshot(target)["media"] == snapshot(source)["media"]
    doctor = run_cli(target, "doctor")
    assert "index: Chroma holds every memory (6)" in doctor.stdout, doctor.stdout

    question = "Where does my sister Ana work?"
    asked = [run_cli(folder, "ask", question) for folder in (source, target)]
    assert all(a.returncode == 0 for a in asked), [a.stderr for a in asked]
    assert asked[0].stdout.strip() and asked[0].stdout == asked[1].stdout

    again = _env_cli(target, "import", str(archives["sealed"]))
    assert again.returncode == 0, again.stderr
    assert "imported 0 memories (6 already here)" in again.stdout
    assert "0 events (4 already here), 0 screenshots (2 already here)" in again.stdout


def test_import_into_the_source_store_adds_nothing(archives: dict[str, Path], source: Path) -> None:
    before = snapshot(source)
    done = _env_cli(source, "import", str(archives["plain"]))
    assert done.returncode == 0, done.stderr
    assert "imported 0 memories" in done.stdout
    after = snapshot(source)
    assert after["media"] == before["media"]
    assert after["tables"]["events"] == before["tables"]["events"]  # type: ignore[index]


def _rewrite(plain: Path, out: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """A copy of an unsealed archive with its members changed by ``change``."""
    with tarfile.open(plain, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]
    members = change(members)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out.write_bytes(buffer.getvalue())
    return out


def _with_manifest(key: str, value: object):  # type: ignore[no-untyped-def]
    def change(members):  # type: ignore[no-untyped-def]
        info, data = members[0]
        manifest = json.loads(data)
        manifest[key] = value
        return [(info, json.dumps(manifest).encode()), *members[1:]]

    return change


def test_bad_archives_are_refused_with_one_line_and_change_nothing(
    archives: dict[str, Path], tmp_path: Path, shared_models: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    plain, sealed = archives["plain"], archives["sealed"]
    raw_sealed, raw_plain = sealed.read_bytes(), plain.read_bytes()

    def flipped(data: bytes, at: int) -> bytes:
        return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]

    def memories_line_changed(members):  # type: ignore[no-untyped-def]
        return [
            (i, d.replace(b"Porto", b"Paris") if i.name == "memories.jsonl" else d)
            for i, d in members
        ]

    cases: dict[str, tuple[Path, str | None, str]] = {}

    def case(
        name: str, data: bytes | Path, expected: str, passphrase: str | None = PASSPHRASE
    ) -> None:
        path = data if isinstance(data, Path) else tmp_path / f"{name}.bin"
        if not isinstance(data, Path):
            path.write_bytes(data)
        cases[name] = (path, passphrase, expected)

    case("sealed-flipped", flipped(raw_sealed, len(raw_sealed) // 2), "fails its authentication")
    case("sealed-truncated", raw_sealed[: len(raw_sealed) - 40], "truncated")
    case("sealed-cut-in-header", raw_sealed[:100], "truncated")
    case("sealed-cut-in-chunk", raw_sealed[:400], "truncated")
    case("sealed-trailing", raw_sealed + b"x", "data after")
    case("wrong-passphrase", raw_sealed, "wrong passphrase", "not the passphrase")
    case("no-passphrase", raw_sealed, "a passphrase is needed", None)
    case("plain-flipped", flipped(raw_plain, len(raw_plain) // 2), "damaged")
    case("plain-truncated", raw_plain[: len(raw_plain) // 2], "truncated")
    case("plain-tail-cut", raw_plain[:-4], "")
    case("empty", b"", "empty")
    case("not-an-archive", b"hello, this is text\n" * 10, "not a Rememora archive")
    case("sha-mismatch", _rewrite(plain, tmp_path / "sha.tgz", memories_line_changed), "sha256")
    case(
        "newer-format",
        _rewrite(plain, tmp_path / "newer.tgz", _with_manifest("format_version", 2)),
        "newer Rememora",
    )
    case(
        "count-mismatch",
        _rewrite(plain, tmp_path / "count.tgz", _with_manifest("counts", {"events": 1})),
        "counts",
    )
    case(
        "missing-member",
        _rewrite(plain, tmp_path / "missing.tgz", lambda m: m[:-1]),
        "unexpected member" if False else "",
    )
    case(
        "vault-in-plain",
        _rewrite(plain, tmp_path / "vault.tgz", _with_manifest("types", ["core", "vault"])),
        "vault",
    )
    target = new_store(tmp_path, "target", shared_models)
    with Service(target, embedder=embedder) as service:
        service.record_events()
        before = snapshot(target)
        for name, (path, passphrase, expected) in cases.items():
            asked = (lambda p=passphrase: p) if passphrase is not None else None
            with pytest.raises(RememoraError) as refused:
                service.import_archive(path, asked)  # type: ignore[arg-type]
            assert expected in str(refused.value) and "\n" not in str(refused.value), name
            assert snapshot(target) == before, name
    assert len(cases) >= 15
    # the same through the CLI: one line, exit code 2, the store unchanged
    line = _one_line_error(
        _env_cli(target, "import", str(cases["wrong-passphrase"][0]), passphrase="nope nope")
    )
    assert "wrong passphrase" in line
    assert snapshot(target) == before


def test_vault_needs_a_passphrase_and_options_select(
    source: Path, tmp_path: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    refused = _env_cli(
        source, "export", str(tmp_path / "v.tgz"), "--types", "vault", passphrase=None
    )
    assert "encrypted archive" in _one_line_error(refused)
    assert not (tmp_path / "v.tgz").exists()
    short = _env_cli(source, "export", str(tmp_path / "s.tgz"), "--passphrase", passphrase="short")
    assert "at least 8" in _one_line_error(short)
    no_terminal = _env_cli(
        source, "export", str(tmp_path / "n.tgz"), "--passphrase", passphrase=None
    )
    assert "REMEMORA_EXPORT_PASSPHRASE" in _one_line_error(no_terminal)
    out = tmp_path / "some.tgz"
    since = parse_since("2024-05-03")
    with Service(source, embedder=embedder) as service:
        report = service.export_archive(
            out,
            ExportOptions(
                types=parse_types(["core,episodic"]), types_given=True, since=since, media=False
            ),
        )
        assert report.memories == 5 and report.media == 0
        with pytest.raises(RememoraError, match="already exists"):
            service.export_archive(out, ExportOptions())
        late = service.export_archive(
            tmp_path / "late.tgz", ExportOptions(since=parse_since("2030-01-01"))
        )
        assert (late.memories, late.history, late.events, late.media) == (1, 1, 0, 0)  # core
    with tarfile.open(out, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert not any(n.startswith("media/") for n in names)
    assert manifest["types"] == ["core", "episodic"] and manifest["counts"]["memories"] == 5


def test_an_archive_from_another_embedder_is_re_embedded(
    archives: dict[str, Path], tmp_path: Path, shared_models: Path
) -> None:
    other = _rewrite(
        archives["plain"], tmp_path / "other.tgz", _with_manifest("embedding_model", "other-model")
    )
    target = new_store(tmp_path, "target", shared_models)
    done = _env_cli(target, "import", str(other))
    assert done.returncode == 0, done.stderr
    assert (
        "re-embedded 5 memories with all-minilm-l6-v2 (the archive was made with other-model)"
        in done.stdout
    )
    doctor = run_cli(target, "doctor")
    assert "index: Chroma holds every memory (5)" in doctor.stdout, doctor.stdout

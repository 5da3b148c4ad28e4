"""Hostile files: hypothesis feeds malformed input to the chat importers (JSON lines,
ChatGPT export, LOCOMO), the archive reader and the settings loader. Every input ends in
a RememoraError or a valid result, never another exception, within a deadline; the
limits (file size, turn length, member sizes) are enforced before anything is read whole;
an import that fails leaves the store as it was."""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.archive.verify import verify_archive
from core.errors import InputFileError, RememoraError, SettingsError
from core.ingest.importers import MAX_FILE_BYTES, MAX_TURN_CHARS, read_chat_file
from core.records import MemoryType
from core.service import ExportOptions, Service
from core.settings import Settings, load_settings
from tests.archive_helpers import PASSPHRASE, fill, new_store, snapshot

FUZZED: Counter[str] = Counter()  # inputs tried per target (printed at the end)
FAST = settings(
    max_examples=250,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- JSON-shaped input that looks almost right ---------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["user", "assistant", "system", "", "1:56 pm on 8 May, 2023", "2024-05-03"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def chatgpt_exports(draw: st.DrawFn) -> Any:
    nodes = draw(st.lists(st.text(min_size=1, max_size=6), min_size=0, max_size=5, unique=True))
    mapping: dict[str, Any] = {}
    for index, node in enumerate(nodes):
        mapping[node] = draw(
            st.fixed_dictionaries(
                {
                    "id": st.just(node),
                    "parent": st.one_of(st.none(), st.sampled_from(nodes), json_values)
                    if index
                    else st.none(),
                    "children": st.one_of(
                        st.lists(st.sampled_from(nodes), max_size=2), json_values
                    ),
                    "message": st.one_of(
                        st.none(),
                        json_values,
                        st.fixed_dictionaries(
                            {
                                "author": st.one_of(
                                    st.fixed_dictionaries(
                                        {"role": st.sampled_from(["user", "assistant", "tool"])}
                                    ),
                                    json_values,
                                ),
                                "content": st.one_of(
                                    st.fixed_dictionaries(
                                        {"parts": st.one_of(st.lists(json_values, max_size=3))}
                                    ),
                                    json_values,
                                ),
                                "create_time": st.one_of(
                                    st.floats(allow_nan=True, allow_infinity=True),
                                    st.integers(),
                                    json_values,
                                ),
                            }
                        ),
                    ),
                }
            )
        )
    conversation = {
        "mapping": draw(st.one_of(st.just(mapping), json_values)),
        "current_node": draw(st.one_of(st.none(), st.sampled_from(nodes or ["x"]), json_values)),
        "create_time": draw(st.one_of(st.none(), st.floats(), st.integers())),
    }
    return draw(st.lists(st.just(conversation), min_size=1, max_size=2))


@st.composite
def locomo_files(draw: st.DrawFn) -> Any:
    turns = st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "speaker": st.one_of(st.text(max_size=8), json_values),
                    "text": st.text(max_size=30),
                },
                optional={"blip_caption": json_values, "dia_id": json_values},
            ),
            json_values,
        ),
        max_size=3,
    )
    keys = st.sampled_from(["session_1", "session_2", "session_10", "session_x", "session_1_2"])
    conversation = draw(st.dictionaries(keys, st.one_of(turns, json_values), max_size=3))
    for key in list(conversation):
        conversation[f"{key}_date_time"] = draw(
            st.one_of(
                st.sampled_from(["1:56 pm on 8 May, 2023", "11:59 pm on 31 December, 9999"]),
                json_values,
            )
        )
    return [{"sample_id": draw(json_values), "conversation": conversation}]


jsonl_lines = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "speaker": st.one_of(st.text(max_size=8), json_values),
                "text": st.one_of(st.text(max_size=30), json_values),
            },
            optional={
                "time": st.one_of(
                    st.sampled_from(
                        [
                            "2024-05-03T10:00:00Z",
                            "0001-01-01T00:00:00",
                            "9999-12-31T23:59:59-12:00",
                            "nope",
                        ]
                    ),
                    json_values,
                )
            },
        ),
        json_values,
    ),
    max_size=5,
).map(lambda records: "\n".join(json.dumps(r) for r in records).encode())

chat_inputs = st.one_of(
    chatgpt_exports().map(lambda d: json.dumps(d).encode()),
    locomo_files().map(lambda d: json.dumps(d).encode()),
    jsonl_lines,
    st.binary(max_size=300),
    st.sampled_from([b"[" * 100_000, b'{"a":' * 50_000, b"1" * 5000, b"\xef\xbb\xbf", b"\xff\xfe"]),
)


def _write(data: bytes, suffix: str = ".json") -> Path:
    handle, name = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return Path(name)


@FAST
@given(chat_inputs)
def test_chat_importers_end_in_a_clear_error_or_valid_turns(data: bytes) -> None:
    FUZZED["chat files"] += 1
    path = _write(data)
    try:
        events = read_chat_file(path)
    except InputFileError as error:
        assert "\n" not in str(error) and str(error).startswith(str(path))
    else:
        assert events
        for event in events:
            assert event.text.strip() and len(event.text) <= MAX_TURN_CHARS + 200
            assert event.occurred_at.tzinfo is not None
            event.occurred_at.astimezone()  # storable
    finally:
        path.unlink()


def test_a_five_megabyte_turn_and_a_huge_file_are_refused(tmp_path: Path, service) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "big.jsonl"
    big.write_text(json.dumps({"speaker": "Alice", "text": "word " * 1_000_000}) + "\n")
    with pytest.raises(InputFileError, match="at most 100000 allowed"):
        service.import_chat(big)
    with pytest.raises(RememoraError, match="at most 100000 characters"):
        service.add_chat_turn("Alice", "x" * 5_000_000)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as out:  # sparse: refused by its size, never read
        out.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputFileError, match="at most 268435456 bytes"):
        service.import_chat(huge)
    assert service.store.count_events() == {}


# -- settings -------------------------------------------------------------------------------
toml_scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=20),
)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


@st.composite
def settings_files(draw: st.DrawFn) -> bytes:
    sections = {
        name: list(type(getattr(Settings(), name)).model_fields) for name in Settings.model_fields
    }
    lines = []
    for section in draw(st.lists(st.sampled_from([*sections, "bogus"]), max_size=3, unique=True)):
        lines.append(f"[{section}]")
        keys = sections.get(section, ["x"]) + ["unknown_key"]
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            value = draw(st.one_of(toml_scalars, st.lists(toml_scalars, max_size=3)))
            lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines).encode()


@FAST
@given(
    st.one_of(
        settings_files(),
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        st.sampled_from([b"a = " + b"[" * 10_000, b"[llm]\nn_ctx = 1e999", b"x = 1\nx = 2"]),
    )
)
def test_settings_loader_ends_in_a_clear_error_or_valid_settings(data: bytes) -> None:
    FUZZED["settings files"] += 1
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "settings.toml").write_bytes(data)
        try:
            loaded = load_settings(Path(folder))
        except SettingsError as error:
            assert "\n" not in str(error) and len(str(error)) < 600
        else:
            assert isinstance(loaded, Settings)


# -- archives ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def archive_bytes(
    tmp_path_factory: pytest.TempPathFactory, shared_models: Path, embedder
) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("hostile")
    folder = new_store(root, "source", shared_models)
    with Service(folder, embedder=embedder) as service:
        fill(service, frames=1)
        service.export_archive(root / "plain.tgz", ExportOptions())
        service.export_archive(root / "sealed.bin", ExportOptions(passphrase=PASSPHRASE))
    return {
        "plain": (root / "plain.tgz").read_bytes(),
        "sealed": (root / "sealed.bin").read_bytes(),
    }


def _members(plain: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
        return [(m, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def _pack(members: list[tuple[tarfile.TarInfo, bytes]], fix_manifest: bool) -> bytes:
    """A tar.gz of ``members``; with ``fix_manifest`` the manifest's sizes and sha256 are
    made to match, so the fuzzed content itself reaches the record parser."""
    import hashlib

    if fix_manifest:
        info, data = members[0]
        try:
            manifest = json.loads(data)
            manifest["members"] = [
                {"name": i.name, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                for i, d in members[1:]
            ]
            members = [(info, json.dumps(manifest).encode()), *members[1:]]
        except (ValueError, TypeError, AttributeError):
            pass
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@st.composite
def hostile_archives(draw: st.DrawFn, base: dict[str, bytes]) -> bytes:
    kind = draw(st.sampled_from(["flip", "cut", "insert", "line", "manifest", "members"]))
    raw = base[draw(st.sampled_from(["plain", "sealed"]))]
    if kind == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    if kind == "cut":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "insert":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=64)) + raw[at:]
    members = _members(base["plain"])
    if kind == "line":  # one record line replaced by fuzz (valid sha256: the parser sees it)
        index = draw(st.sampled_from([1, 2, 3]))
        info, data = members[index]
        lines = data.decode().splitlines() or [""]
        row = draw(st.integers(0, len(lines) - 1))
        record = json.loads(lines[row]) if lines[row] else {}
        if isinstance(record, dict) and record and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(record)))
            record[key] = draw(json_values)
            lines[row] = json.dumps(record)
        else:
            lines[row] = draw(st.one_of(json_values.map(json.dumps), st.text(max_size=40)))
        members[index] = (info, "\n".join(lines).encode())
        return _pack(members, fix_manifest=True)
    if kind == "manifest":
        info, data = members[0]
        manifest = json.loads(data)
        key = draw(st.sampled_from(sorted(manifest)))
        manifest[key] = draw(json_values)
        members[0] = (info, json.dumps(manifest).encode())
        return _pack(members, fix_manifest=False)
    # members dropped, repeated or renamed
    action = draw(st.sampled_from(["drop", "repeat", "rename"]))
    index = draw(st.integers(0, len(members) - 1))
    if action == "drop":
        del members[index]
    elif action == "repeat":
        members.insert(index, members[index])
    else:
        info, data = members[index]
        info = tarfile.TarInfo(
            draw(st.sampled_from(["../evil", "/etc/x", "media/x.webp", "a" * 99]))
        )
        members[index] = (info, data)
    return _pack(members, fix_manifest=draw(st.booleans()))


def test_archive_reader_ends_in_a_clear_error_or_a_verified_archive(
    archive_bytes: dict[str, bytes],
) -> None:
    @FAST
    @given(hostile_archives(archive_bytes))
    def check(data: bytes) -> None:
        FUZZED["archives (verify)"] += 1
        path = _write(data, ".archive")
        try:
            verified = verify_archive(path, lambda: PASSPHRASE)
        except InputFileError as error:
            assert "\n" not in str(error)
        else:
            assert verified.manifest.counts["memories"] == len(verified.memories)
        finally:
            path.unlink()

    check()


def test_hostile_archives_import_whole_or_not_at_all(
    archive_bytes: dict[str, bytes], tmp_path: Path, shared_models: Path, embedder
) -> None:  # type: ignore[no-untyped-def]
    target = new_store(tmp_path, "target", shared_models)
    with Service(target, embedder=embedder) as service:
        service.record_events()

        @settings(max_examples=60, deadline=20_000, suppress_health_check=list(HealthCheck))
        @given(hostile_archives(archive_bytes))
        def check(data: bytes) -> None:
            FUZZED["archives (import)"] += 1
            path = _write(data, ".archive")
            before = snapshot(target)
            try:
                service.import_archive(path, lambda: PASSPHRASE)
            except RememoraError as error:
                assert "\n" not in str(error)
                assert snapshot(target) == before
            else:  # a valid import: what it holds is in the store, Chroma in step
                counts = service.store.count_memories()
                assert counts[MemoryType.EPISODIC] >= 1
                assert not service.store.pending_index()
            finally:
                path.unlink()

        check()


def test_oversized_members_are_refused_before_they_are_read(
    archive_bytes: dict[str, bytes], tmp_path: Path
) -> None:
    members = _members(archive_bytes["plain"])
    header = tarfile.TarInfo("media/2024-05-03/20240503T100000000000-000001.webp")
    header.size = 1 << 30  # declared 1 GiB; the body is never there
    block = header.tobuf(format=tarfile.USTAR_FORMAT)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members[:4]:
            tar.addfile(info, io.BytesIO(data))
    import gzip

    plain = gzip.decompress(buffer.getvalue())
    end = sum(512 + -(-info.size // 512) * 512 for info, _ in members[:4])
    bomb = plain[:end]  # no end marker: the fake header follows
    path = tmp_path / "bomb.tgz"
    path.write_bytes(gzip.compress(bomb + block))
    with pytest.raises(InputFileError, match="too big"):
        verify_archive(path)


def test_report_inputs_fuzzed() -> None:
    print("\ninputs fuzzed:", dict(FUZZED), "total", sum(FUZZED.values()))
    assert sum(FUZZED.values()) >= 500 or not FUZZED

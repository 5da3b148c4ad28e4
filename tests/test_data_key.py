"""The store's data key (core/store/keys.py): made on first open, wrapped by the OS keyring
or a passphrase (scrypt), never readable without one, and dropped by lock. Keyrings here:
keyring's own "fail" backend (the conftest's PYTHON_KEYRING_BACKEND, read as "no
keyring"), and a dict-backed fake keyring, named so in its tests (no Secret Service can
run here unless packaging/install-debian-packages.sh installed gnome-keyring)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from keyring.backends import fail, null

from core.errors import KeyUnavailableError, LockedError, StoreError
from core.store.keys import KEYS_FILE, DataKey, KeySource, _trusted, system_keyring
from tests.conftest import REPO, TEST_SETTINGS, cli_env

NO_KEYRING = KeySource(use_system_keyring=False)


class FakeKeyring:
    """A keyring held in a dict: what a Secret Service collection does, minus D-Bus."""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password


def test_passphrase_wrap_made_on_first_open_and_reopens(tmp_path: Path) -> None:
    key = DataKey(tmp_path, NO_KEYRING)
    key.open()
    assert key.created and key.opened_by == "passphrase" and not key.locked
    sealed = key.seal(b"a screenshot", b"frame 1")
    stored = json.loads((tmp_path / KEYS_FILE).read_text())
    assert stored["version"] == 1 and [w["kind"] for w in stored["wraps"]] == ["passphrase"]
    assert stored["wraps"][0]["kdf"] == "scrypt" and stored["wraps"][0]["n"] == 1 << 15
    assert stat.S_IMODE((tmp_path / KEYS_FILE).stat().st_mode) == 0o600
    assert b"a screenshot" not in sealed

    again = DataKey(tmp_path, NO_KEYRING)
    again.open()
    assert not again.created and again.unseal(sealed, b"frame 1") == b"a screenshot"
    with pytest.raises(StoreError, match="does not open"):
        again.unseal(sealed, b"frame 2")  # bound to its associated data


def test_wrong_passphrase_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    DataKey(tmp_path, NO_KEYRING).open()
    monkeypatch.setenv("REMEMORA_PASSPHRASE", "not the one")
    with pytest.raises(KeyUnavailableError, match="wrong passphrase"):
        DataKey(tmp_path, NO_KEYRING).open()


def test_prompt_is_asked_only_without_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMEMORA_PASSPHRASE")
    asked: list[bool] = []

    def prompt(new: bool) -> str | None:
        asked.append(new)
        return "typed by the user"

    DataKey(tmp_path, KeySource(prompt=prompt, use_system_keyring=False)).open()
    DataKey(tmp_path, KeySource(prompt=prompt, use_system_keyring=False)).open()
    assert asked == [True, False]  # a new passphrase, then the one to unlock
    with pytest.raises(KeyUnavailableError, match="REMEMORA_PASSPHRASE"):
        DataKey(tmp_path, KeySource(prompt=lambda new: None, use_system_keyring=False)).open()


def test_fake_keyring_wraps_and_unwraps_without_a_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring = FakeKeyring()
    first = DataKey(tmp_path, KeySource(keyring=keyring))
    first.open()
    assert first.opened_by == "keyring"
    sealed = first.seal(b"vault value", b"v")
    kinds = [w["kind"] for w in json.loads((tmp_path / KEYS_FILE).read_text())["wraps"]]
    assert kinds == ["keyring", "passphrase"]  # the variable was set: a way back too
    [(service, account)] = keyring.secrets
    assert service == "rememora" and account.startswith("data-key-")

    monkeypatch.delenv("REMEMORA_PASSPHRASE")
    second = DataKey(tmp_path, KeySource(keyring=keyring))
    second.open()  # no passphrase anywhere: the keyring opens it
    assert second.opened_by == "keyring" and second.unseal(sealed, b"v") == b"vault value"
    with pytest.raises(KeyUnavailableError):  # another keyring, no passphrase: refused
        DataKey(tmp_path, KeySource(keyring=FakeKeyring())).open()


def test_fake_keyring_only_store_without_its_entry_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REMEMORA_PASSPHRASE")
    DataKey(tmp_path, KeySource(keyring=FakeKeyring())).open()
    with pytest.raises(KeyUnavailableError, match="keyring has no entry"):
        DataKey(tmp_path, KeySource(keyring=FakeKeyring())).open()


def test_plaintext_and_null_backends_count_as_no_keyring() -> None:
    class PlaintextKeyring:  # as keyrings.alt names its file backend
        pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    assert not _trusted(fail.Keyring()) and not _trusted(null.Keyring())
    assert not _trusted(PlaintextKeyring())
    assert _trusted(FakeKeyring())
    backend, why = system_keyring()  # the conftest picks keyring's "fail" backend
    assert backend is None and "no usable keyring" in why


def test_lock_drops_the_key_until_unlocked(tmp_path: Path) -> None:
    key = DataKey(tmp_path, NO_KEYRING)
    key.open()
    sealed = key.seal(b"frame", b"a")
    key.lock()
    assert key.locked
    with pytest.raises(LockedError):
        key.unseal(sealed, b"a")
    with pytest.raises(LockedError):
        key.seal(b"x", b"a")
    with pytest.raises(KeyUnavailableError):
        key.unlock("a wrong passphrase")
    assert key.locked
    key.unlock(os.environ["REMEMORA_PASSPHRASE"])
    assert key.unseal(sealed, b"a") == b"frame"


def test_no_keyring_no_terminal_no_variable_stops_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "settings.toml").write_text(TEST_SETTINGS, encoding="utf-8")
    env = cli_env(folder)
    env.pop("REMEMORA_PASSPHRASE")
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "status"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,  # never hangs waiting for input
    )
    assert done.returncode == 7, done.stderr
    assert done.stderr.count("\n") == 1 and "REMEMORA_PASSPHRASE" in done.stderr
    assert not (folder / KEYS_FILE).exists()  # nothing was made

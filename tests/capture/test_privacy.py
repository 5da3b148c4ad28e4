"""The deny list and redaction of OCR text (pure functions, real regexes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.capture.privacy import PrivacyGate, WindowInfo, luhn_valid, redact
from core.errors import SettingsError
from core.settings import CaptureSettings, load_settings


def test_default_deny_list_covers_password_managers_private_windows_and_rememora() -> None:
    gate = PrivacyGate.from_settings(CaptureSettings())
    assert gate.denies(WindowInfo("KeePassXC", "Passwords.kdbx"))
    assert gate.denies(WindowInfo("Bitwarden", "Vault"))
    assert gate.denies(WindowInfo("firefox", "News — Mozilla Firefox Private Browsing"))
    assert gate.denies(WindowInfo("chromium", "Mail - Chromium (Incognito)"))
    assert gate.denies(WindowInfo("msedge", "Bank - InPrivate - Microsoft Edge"))
    assert gate.denies(WindowInfo("rememora", "Rememora"))
    assert gate.denies(WindowInfo("python3", "Rememora — settings"))
    assert gate.denies(
        WindowInfo("firefox", "Private browsing guide - Wikipedia")
    )  # errs on the safe side
    assert gate.denies(WindowInfo("writer", "Quarterly report")) is None
    # a denied window beside the focused one, position unknown: the frame is dropped
    reason, _boxes = gate.screen_verdict(
        WindowInfo("writer", "Report"), [WindowInfo("keepassxc", "x")]
    )
    assert reason


def test_deny_list_is_editable_before_an_app_is_seen(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(
        '[capture]\ndeny_apps = ["signal"]\ndeny_titles = ["(?i)payroll"]\n'
    )
    gate = PrivacyGate.from_settings(load_settings(tmp_path).capture)
    assert gate.denies(WindowInfo("Signal", "Chats"))
    assert gate.denies(WindowInfo("calc", "PAYROLL 2026.ods"))
    assert gate.denies(WindowInfo("keepassxc", "db")) is None  # the list was replaced


def test_a_bad_title_pattern_is_a_settings_error(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('[capture]\ndeny_titles = ["(unclosed"]\n')
    with pytest.raises(SettingsError, match="capture.deny_titles"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    "text,label,secret",
    [
        ("pay with 4111 1111 1111 1111 today", "CARD NUMBER", "4111 1111 1111 1111"),
        ("card 5500-0000-0000-0004", "CARD NUMBER", "5500-0000-0000-0004"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN", "DE89 3704 0044 0532 0130 00"),
        ("write to ada.lovelace@example.org", "EMAIL", "ada.lovelace@example.org"),
        ("call +44 20 7946 0958", "PHONE", "7946 0958"),
        ("OPENAI_KEY sk-proj-Q7x9Lm2Pa8Zr4Tb6Vn1K", "API KEY", "Q7x9Lm2Pa8Zr4Tb6Vn1K"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "API KEY", "ghp_abcdef"),
        ("aws AKIAIOSFODNN7EXAMPLE", "API KEY", "AKIAIOSFODNN7EXAMPLE"),
        ("api_key = 9f8e7d6c5b4a39281706f5e4", "TOKEN", "9f8e7d6c5b4a39281706f5e4"),
        ("Password: hunter2!", "PASSWORD", "hunter2"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "PRIVATE KEY",
            "b3BlbnNzaC1rZXktdjEAAAA",
        ),
    ],
)
def test_redaction_hides_secrets_and_personal_data(text: str, label: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert f"[{label}]" in result.text
    assert result.counts[label] >= 1


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112 fails the Luhn check",
        "released 2023-12-18 13:04, build 12345",
        "let ocr_handles: Vec<_> = (0..pool_size)",
        "IBAN DE00 0000 0000 0000 0000 00 has a bad checksum",
    ],
)
def test_redaction_leaves_ordinary_text(text: str) -> None:
    assert redact(text).text == text


def test_luhn() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")


def test_screen_verdict_drops_a_denied_focus_and_paints_over_denied_background() -> None:
    gate = PrivacyGate(["keepassxc"], [r"(?i)private browsing"])
    writer = WindowInfo("writer", "Report", box=(400, 0, 400, 600))
    vault = WindowInfo("KeePassXC", "db", box=(0, 0, 380, 560))
    assert gate.screen_verdict(writer, [vault, writer]) == (None, [(0, 0, 380, 560)])
    reason, boxes = gate.screen_verdict(vault, [vault, writer])
    assert reason and "keepassxc" in reason.lower() and boxes == []
    # a denied window whose position is unknown cannot be painted over: drop the frame
    reason, boxes = gate.screen_verdict(writer, [WindowInfo("keepassxc", "db"), writer])
    assert reason and "unknown" in reason and boxes == []
    assert gate.screen_verdict(writer, [writer]) == (None, [])

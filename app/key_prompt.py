"""The passphrase of the store's data key, asked on the terminal (the CLI's prompt; the
desktop app asks with a dialog, app/gui/unlock_dialog.py). It asks only when stdin is a
terminal: a script or a service without one gets None, and the core then stops with one
line naming ``REMEMORA_PASSPHRASE`` instead of waiting for input that cannot come."""

from __future__ import annotations

import getpass
import sys

from core.errors import KeyUnavailableError

MIN_PASSPHRASE = 8


def terminal_prompt(new: bool) -> str | None:
    if not sys.stdin.isatty():
        return None
    if not new:
        return getpass.getpass("Rememora passphrase: ") or None
    print(
        "No OS keyring is available: Rememora's data key will be protected by a passphrase.",
        file=sys.stderr,
    )
    first = getpass.getpass("New passphrase for Rememora: ")
    if len(first) < MIN_PASSPHRASE:
        raise KeyUnavailableError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    if getpass.getpass("Type it again: ") != first:
        raise KeyUnavailableError("the two passphrases differ; nothing was changed")
    return first

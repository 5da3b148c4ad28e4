"""Run inside `dbus-run-session` by tests/test_secret_service.py: start gnome-keyring's
Secret Service (unlocked, empty password), then make and reopen a store's data key
through keyring's SecretService backend, with no passphrase anywhere. Prints one JSON
line with what it saw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

started = subprocess.run(
    ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
    input=b"\n",
    capture_output=True,
    timeout=30,
    check=True,
)
for line in started.stdout.decode().splitlines():
    name, _, value = line.partition("=")
    if value:
        os.environ[name] = value
os.environ.pop("PYTHON_KEYRING_BACKEND", None)
os.environ.pop("REMEMORA_PASSPHRASE", None)

from core.store.keys import KEYS_FILE, DataKey, system_keyring  # noqa: E402

folder = Path(sys.argv[1])
backend, name = system_keyring()
first = DataKey(folder)
first.open()
sealed = first.seal(b"a frame", b"name")
second = DataKey(folder)
second.open()
print(
    json.dumps(
        {
            "backend": name,
            "opened_by": [first.opened_by, second.opened_by],
            "round_trip": second.unseal(sealed, b"name").decode(),
            "wraps": [w["kind"] for w in json.loads((folder / KEYS_FILE).read_text())["wraps"]],
        }
    )
)

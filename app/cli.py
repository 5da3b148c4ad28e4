"""The `rememora` command. With no command it starts the desktop app.

Every error a user can cause prints one line, ``rememora: error: …``, and exits non-zero
without changing the store.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from app.commands import FAMILIES
from app.key_prompt import terminal_prompt
from core.errors import RememoraError
from core.service import KeySource, Service
from core.store.paths import resolve_data_dir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rememora", description="Rememora: a private memory of what you chat and see."
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="data directory (default: $REMEMORA_DATA_DIR or the platform's)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = commands.add_parser("gui", help="start the desktop app (the default)")
    gui.add_argument(
        "--screenshots",
        type=Path,
        metavar="DIR",
        help="open each view on a small demo store, save one PNG per view in DIR, and exit",
    )
    gui.add_argument(
        "--question", help="with --screenshots: the question the Ask view shows answered"
    )
    gui.add_argument(
        "--tray", action="store_true", help="start in the system tray (the autostart entry)"
    )
    commands.add_parser(
        "lock", help="lock the running app: drop its key, capture nothing, answer nothing"
    )
    commands.add_parser(
        "quick-ask",
        help="open the running app's quick-ask box (bind it to a key: the global shortcut)",
    )
    for family in FAMILIES:
        family.register(commands)
    return parser


def run(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    if args.command in (None, "gui"):
        from app.gui.main import run_gui

        return run_gui(
            data_dir,
            getattr(args, "screenshots", None),
            getattr(args, "question", None),
            getattr(args, "tray", False),
        )
    if args.command == "lock":
        return lock_running_app(data_dir)
    if args.command == "quick-ask":
        return quick_ask_running_app(data_dir)
    with Service(data_dir, keys=KeySource(prompt=terminal_prompt)) as service:
        return int(args.handler(service, args))


def lock_running_app(data_dir: Path) -> int:
    """`rememora lock`: the running app owns the store (and its key), so it is told over
    its single-instance socket; with no app running there is nothing to lock."""
    from app.gui.single_instance import ask_running_instance_to_lock

    done = ask_running_instance_to_lock(data_dir)
    if done is None:
        print(
            f"rememora: no Rememora app is running on {data_dir}; nothing to lock", file=sys.stderr
        )
        return 1
    if not done:
        print("rememora: error: the running app did not confirm the lock", file=sys.stderr)
        return 1
    print("locked the running Rememora app (unlock it from its tray menu or window)")
    return 0


def quick_ask_running_app(data_dir: Path) -> int:
    """`rememora quick-ask`: tell the running app to open its quick-ask box (what a key
    bound in the desktop's keyboard settings runs); with no app running, say so."""
    from app.gui.single_instance import QUICK_ASK, ask_running_instance_to_show

    if not ask_running_instance_to_show(data_dir, message=QUICK_ASK):
        print(
            f"rememora: no Rememora app is running on {data_dir}; start it with `rememora`",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except RememoraError as error:
        print(f"rememora: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("rememora: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

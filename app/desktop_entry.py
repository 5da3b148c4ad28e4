"""Install Rememora as a desktop app for the current user (XDG paths): the launcher
(``$XDG_DATA_HOME/applications/rememora.desktop``), its icon
(``$XDG_DATA_HOME/icons/hicolor/scalable/apps/rememora.svg``) and, opt-in, an autostart
entry that starts the app in the tray (``$XDG_CONFIG_HOME/autostart``).

``python -m app.desktop_entry install|uninstall`` (what ``make install-desktop`` and
``make uninstall-desktop`` run); the Settings view turns autostart on and off."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import assets

LAUNCHER = "rememora.desktop"
AUTOSTART = "rememora-autostart.desktop"


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def launcher_path() -> Path:
    return _data_home() / "applications" / LAUNCHER


def icon_path() -> Path:
    return _data_home() / "icons" / "hicolor" / "scalable" / "apps" / "rememora.svg"


def autostart_path() -> Path:
    return _config_home() / "autostart" / LAUNCHER


def exec_command() -> str:
    """How the entry starts Rememora: the ``rememora`` script beside this Python, else
    this Python running the CLI module."""
    script = Path(sys.executable).with_name("rememora")
    if script.is_file():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m app.cli"


def _write(template: str, target: Path) -> Path:
    text = Path(assets.path(f"desktop/{template}")).read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_text(text.replace("@EXEC@", exec_command()), encoding="utf-8")
    os.replace(partial, target)
    return target


def install_launcher() -> list[Path]:
    """The launcher and its icon."""
    icon = icon_path()
    icon.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(assets.path("icons/rememora.svg"), icon)
    return [_write(LAUNCHER, launcher_path()), icon]


def install_autostart() -> Path:
    return _write(AUTOSTART, autostart_path())


def autostart_installed() -> bool:
    return autostart_path().is_file()


def uninstall_autostart() -> None:
    autostart_path().unlink(missing_ok=True)


def uninstall() -> list[Path]:
    removed = [p for p in (launcher_path(), icon_path(), autostart_path()) if p.exists()]
    for path in removed:
        path.unlink()
    return removed


def main(argv: list[str]) -> int:
    if argv[:1] == ["install"]:
        for path in install_launcher():
            print(f"installed {path}")
        if "--autostart" in argv:
            print(f"installed {install_autostart()}")
        return 0
    if argv[:1] == ["uninstall"]:
        for path in uninstall():
            print(f"removed {path}")
        return 0
    print("usage: python -m app.desktop_entry install [--autostart] | uninstall", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

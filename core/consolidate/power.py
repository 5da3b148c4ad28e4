"""Whether the machine runs on battery now, from Linux's power-supply class
(/sys/class/power_supply/*/type, online, status). No battery means mains power; a mains
adapter that is online means mains; otherwise a battery that is discharging means
battery."""

from __future__ import annotations

from pathlib import Path

POWER_SUPPLY = Path("/sys/class/power_supply")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def on_battery(root: Path = POWER_SUPPLY) -> bool:
    supplies = sorted(root.iterdir()) if root.is_dir() else []
    kinds = {supply: _read(supply / "type") for supply in supplies}
    batteries = [s for s, kind in kinds.items() if kind == "Battery"]
    if not batteries:
        return False
    adapters = [s for s, kind in kinds.items() if kind in ("Mains", "USB", "USB_C")]
    if any(_read(s / "online") == "1" for s in adapters):
        return False
    if adapters:
        return True
    return any(_read(b / "status") == "Discharging" for b in batteries)

"""`rememora gui --screenshots DIR` under Xvfb (the real entry point, the tiny model, the
demo store): one PNG per view, each a real picture of its size; the folder is printed so
a person can look at them. Slow (two answers from the model and every view drawn): run
with ``-m slow``."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import cli_env

VIEWS = (
    "ask",
    "source",
    "memories",
    "held-facts",
    "memory-history",
    "timeline",
    "insights",
    "settings",
    "first-run",
)


@pytest.mark.slow
@pytest.mark.llm
def test_screenshots_of_every_view(data_dir: Path, xvfb: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    folder = tmp_path / "screenshots"
    env = cli_env(data_dir) | {"DISPLAY": xvfb, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "gui", "--screenshots", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    print(f"\nscreenshots of every view: {folder}")
    for view in VIEWS:
        path = folder / f"{view}.png"
        assert f"saved {path}" in done.stdout
        with Image.open(path) as image:
            assert image.width >= 600 and image.height >= 500, (view, image.size)
            colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
            assert colours is None or len(colours) > 20, view  # drawn, not blank
    assert not (data_dir / "ledger.sqlite3").exists()  # the user's store was not opened

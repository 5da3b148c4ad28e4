"""A real X client for capture tests: a Qt window (xcb) with a title and big text.

    python tests/capture/show_text.py TITLE TEXT [--app NAME] [--change SECONDS] [--geometry X,Y,W,H]

With --change it appends a counter to the text every SECONDS (a changing screen).
It prints "shown" once the window is mapped, and runs until killed."""

from __future__ import annotations

import argparse
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QLabel


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("title")
    parser.add_argument("text")
    parser.add_argument("--app", default="showtext")
    parser.add_argument("--change", type=float, default=0.0)
    parser.add_argument("--geometry", default="0,0,780,560")
    args = parser.parse_args()
    app = QApplication([sys.argv[0], "-name", args.app])
    app.setApplicationName(args.app)
    label = QLabel(args.text.replace("\\n", "\n"))
    label.setFont(QFont("DejaVu Sans", 28))
    label.setStyleSheet("background: white; color: black; padding: 24px;")
    label.setWindowTitle(args.title)
    x, y, width, height = (int(v) for v in args.geometry.split(","))
    label.move(x, y)
    label.resize(width, height)
    label.show()
    counter = [0]

    def tick() -> None:
        counter[0] += 1
        label.setText(args.text.replace("\\n", "\n") + f"\nstep {counter[0]}")

    if args.change > 0:
        timer = QTimer(interval=int(args.change * 1000))
        timer.timeout.connect(tick)
        timer.start()
    QTimer.singleShot(300, lambda: print("shown", flush=True))
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())

"""Rememora's front ends: the `rememora` command line and the PySide6 desktop app."""

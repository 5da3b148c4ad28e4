"""The PySide6 desktop app. Views call `core.Service` through `ops.OpRunner` only."""

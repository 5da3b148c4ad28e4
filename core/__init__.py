"""Rememora's core: capture, event log, memory, retrieval and answering. Never imports Qt."""

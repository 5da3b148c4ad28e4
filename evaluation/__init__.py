"""Retrieval and answer benchmarks on public data (LOCOMO, LongMemEval), run through the
app's real write and read paths. Nothing here is used by the app at run time."""

"""Benchmarks, run as a client of ``core.Service`` like the GUI: retrieval and answer
benchmarks on public data (LOCOMO, LongMemEval) through the app's real write and read
paths, `bench kv` (the KV state cache), and the retrieval scores of a replayed screenshot
folder. Results are typed records with a ``to_json()``. Nothing here is used by the app
at run time."""

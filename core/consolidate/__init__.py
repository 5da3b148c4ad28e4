"""Sleep-time consolidation: memory gets better while the user is away.

One module a step (reread, contradictions, merge, summarise, core_rewrite, procedures,
decay, media), the run that calls them in order (runner.py) with its registry row and
report (report.py), undo (undo.py) and the background schedule (schedule.py, power.py).
"""

"""One grammar of time expressions, shared by the write path (relative phrases resolved against an event's time) and the read path (a question's time window)."""

"""The write path: batching, routing, extraction, reconcile, and the importers."""

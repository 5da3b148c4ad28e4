"""The store: the only code that runs SQL (events, memories and their history, batches, FTS), the Chroma index, the vault, the lock and the data directory's paths."""

"""One handler per command: load, let the aggregate decide, persist. Handlers never commit."""

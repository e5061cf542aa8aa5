"""One handler per command, ``(command, uow, ctx)``: load, let the aggregate decide, persist.

Handlers never commit: they answer, and the executor commits (``write/executor.py``).
"""

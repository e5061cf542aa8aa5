"""The command side: handlers, the unit of work, idempotency, payments."""

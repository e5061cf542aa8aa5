"""PostgreSQL access: typed tables, repositories, outbox writes, driver-error conversion."""

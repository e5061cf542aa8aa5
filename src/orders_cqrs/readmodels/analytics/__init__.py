"""The ClickHouse analytics: schema, rows, projection, session port and dashboard queries."""

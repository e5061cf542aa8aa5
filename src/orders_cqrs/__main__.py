"""``python -m orders_cqrs`` runs the CLI."""

from orders_cqrs.entrypoints.cli import app

app()
